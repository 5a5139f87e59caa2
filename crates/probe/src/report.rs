//! The probe's findings: one row per check, a verdict per row, and the two
//! renderings — a table for people and JSON for scripts.

use std::fmt::{self, Write as _};

use serde_json::{Value, json};

use crate::catalogue::{CheckId, Expected};

/// What a probe run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The endpoint probed.
    pub url: String,
    /// The status the baseline (correct) token got.
    pub baseline_status: u16,
    /// What the baseline token was.
    pub baseline: String,
    /// One row per check sent, in catalogue order.
    pub checks: Vec<CheckResult>,
    /// Checks not sent, with the reason.
    pub skipped: Vec<(CheckId, String)>,
    /// General remarks (e.g. registrations the probe made up).
    pub notes: Vec<String>,
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// Which check.
    pub id: CheckId,
    /// What was sent.
    pub sent: String,
    /// The answer a correct API gives.
    pub expected: Expected,
    /// The HTTP status received (`None`: no answer).
    pub status: Option<u16>,
    /// The verdict.
    pub verdict: Verdict,
    /// Anything else worth knowing (a missing challenge, a fetched URL…).
    pub note: Option<String>,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The API answered as it must (or, for `lowercase_scheme`, the
    /// difference is only reported).
    Pass,
    /// Neither acceptance nor a 401/403: the probe cannot tell.
    Inconclusive,
    /// The API accepted a token it must refuse.
    Vulnerable,
}

impl Report {
    /// How many rows are [`Verdict::Vulnerable`].
    pub fn vulnerable(&self) -> usize {
        self.count(Verdict::Vulnerable)
    }

    /// How many rows have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == verdict).count()
    }

    /// The row of check `id`, if it was sent.
    pub fn check(&self, id: CheckId) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// `{"url", "baseline": {"status"}, "checks": [{"id", "expected",
    /// "status", "verdict", "fix", "sent", "note"}], "vulnerable": N,
    /// "skipped": [{"id", "reason"}]}`; `fix` is null unless the row is
    /// vulnerable.
    pub fn to_json(&self) -> Value {
        let checks: Vec<Value> = self
            .checks
            .iter()
            .map(|c| {
                json!({
                    "id": c.id.as_str(),
                    "expected": c.expected.as_str(),
                    "status": c.status,
                    "verdict": c.verdict.as_str(),
                    "fix": (c.verdict == Verdict::Vulnerable).then(|| c.id.fix()),
                    "sent": c.sent,
                    "note": c.note,
                })
            })
            .collect();
        let skipped: Vec<Value> = self
            .skipped
            .iter()
            .map(|(id, reason)| json!({"id": id.as_str(), "reason": reason}))
            .collect();
        json!({
            "url": self.url,
            "baseline": {"status": self.baseline_status},
            "checks": checks,
            "vulnerable": self.vulnerable(),
            "skipped": skipped,
        })
    }

    /// The human report: a table (check, what was sent, expected, got,
    /// verdict), the one-line fix of each vulnerable row, notes, and a
    /// summary line.
    pub fn to_table(&self) -> String {
        let header = ["check", "sent", "expected", "got", "verdict"];
        let rows: Vec<[String; 5]> = self
            .checks
            .iter()
            .map(|c| {
                [
                    c.id.as_str().to_owned(),
                    c.sent.clone(),
                    c.expected.as_str().to_owned(),
                    c.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    c.verdict.as_str().to_owned(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = format!(
            "probe of {}\nbaseline: {} -> {}\n\n",
            self.url, self.baseline, self.baseline_status
        );
        let line = |out: &mut String, cells: [&str; 5]| {
            let mut text = String::new();
            for (cell, width) in cells.iter().zip(widths) {
                let _ = write!(text, "{cell:<width$}  ");
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut out, header);
        for row in &rows {
            line(&mut out, [&row[0], &row[1], &row[2], &row[3], &row[4]]);
        }
        let vulnerable: Vec<&CheckResult> = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Vulnerable)
            .collect();
        if !vulnerable.is_empty() {
            out.push_str("\nfixes:\n");
            for c in vulnerable {
                let _ = writeln!(out, "  {}: {}", c.id, c.id.fix());
            }
        }
        let notes: Vec<String> = self
            .checks
            .iter()
            .filter_map(|c| c.note.as_ref().map(|n| format!("{}: {n}", c.id)))
            .chain(
                self.skipped
                    .iter()
                    .map(|(id, reason)| format!("{id}: not sent ({reason})")),
            )
            .chain(self.notes.iter().cloned())
            .collect();
        if !notes.is_empty() {
            out.push_str("\nnotes:\n");
            for note in notes {
                let _ = writeln!(out, "  {note}");
            }
        }
        let _ = writeln!(
            out,
            "\n{} vulnerable, {} passed, {} inconclusive ({} checks)",
            self.vulnerable(),
            self.count(Verdict::Pass),
            self.count(Verdict::Inconclusive),
            self.checks.len()
        );
        out
    }
}

impl Verdict {
    /// As reports print it: `VULNERABLE`, `pass`, `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Vulnerable => "VULNERABLE",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
