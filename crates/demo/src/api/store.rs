//! The in-memory order store.

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;

/// One order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// Assigned by the store.
    pub id: u64,
    /// The owner: the customer's object id (`oid`).
    pub customer: String,
    /// What was ordered.
    pub item: String,
    /// How many.
    pub quantity: u32,
}

/// Orders in memory, behind a mutex.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    orders: Vec<Order>,
    next_id: u64,
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store {
            inner: Mutex::new(Inner {
                orders: Vec::new(),
                next_id: 1,
            }),
        }
    }

    /// A store with four orders of the three [`SEED_CUSTOMERS`].
    pub fn seeded() -> Store {
        let store = Store::new();
        let [contoso, fabrikam, tailspin] = SEED_CUSTOMERS;
        store.add(contoso, "Surface Laptop", 2);
        store.add(contoso, "USB-C dock", 1);
        store.add(fabrikam, "Ergonomic keyboard", 5);
        store.add(tailspin, "27-inch monitor", 3);
        store
    }

    /// Every order, by id.
    pub fn all(&self) -> Vec<Order> {
        self.lock().orders.clone()
    }

    /// The orders owned by `customer`.
    pub fn of_customer(&self, customer: &str) -> Vec<Order> {
        self.lock()
            .orders
            .iter()
            .filter(|o| o.customer == customer)
            .cloned()
            .collect()
    }

    /// Adds an order and returns it with its id.
    pub fn add(&self, customer: &str, item: &str, quantity: u32) -> Order {
        let mut inner = self.lock();
        let order = Order {
            id: inner.next_id,
            customer: customer.to_owned(),
            item: item.to_owned(),
            quantity,
        };
        inner.next_id += 1;
        inner.orders.push(order.clone());
        order
    }

    /// Removes order `id`; whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.orders.len();
        inner.orders.retain(|o| o.id != id);
        inner.orders.len() != before
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the Vec half-written
        // in a way that matters here; keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

/// The object ids of the seeded customers.
pub const SEED_CUSTOMERS: [&str; 3] = [
    "8d3c2b1a-0f9e-4d8c-b7a6-5e4f3a2b1c0d",
    "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6",
    "c0ffee00-1234-4abc-8def-0123456789ab",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove() {
        let store = Store::seeded();
        assert_eq!(store.all().len(), 4);
        assert_eq!(store.of_customer(SEED_CUSTOMERS[0]).len(), 2);
        let order = store.add("someone", "pen", 1);
        assert_eq!(order.id, 5);
        assert!(store.remove(5));
        assert!(!store.remove(5));
        assert_eq!(store.add("someone", "pen", 1).id, 6);
    }
}
