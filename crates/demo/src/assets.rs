//! The browser app `rolegate demo` serves under `/demo/`: plain HTML,
//! JavaScript and CSS with no build step and no external assets (they are
//! served under a `default-src 'self'` content security policy). The app
//! reads everything else from `./config.json`, which the server answers.
//!
//! ```
//! use rolegate_demo::assets;
//!
//! assert!(assets::INDEX_HTML.contains("style.css"));
//! assert!(!assets::APP_JS.is_empty() && !assets::STYLE_CSS.is_empty());
//! ```

/// The page (`/demo/`).
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// The app (`/demo/app.js`).
pub const APP_JS: &str = include_str!("../assets/app.js");
/// The stylesheet (`/demo/style.css`).
pub const STYLE_CSS: &str = include_str!("../assets/style.css");
