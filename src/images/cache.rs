//! A least-recently-used map bounded by the bytes its values hold, not by
//! their count: one decoded scan weighs as much as a hundred small previews.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

#[derive(Debug)]
struct Entry<V> {
    value: V,
    bytes: usize,
    tick: u64,
}

/// LRU cache bounded by total bytes. A value larger than the whole budget is
/// not stored at all (it would only evict everything else).
#[derive(Debug)]
pub struct ByteLru<K, V> {
    map: HashMap<K, Entry<V>>,
    order: BTreeMap<u64, K>,
    tick: u64,
    bytes: usize,
    budget: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> ByteLru<K, V> {
    pub fn new(budget_bytes: usize) -> Self {
        ByteLru {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            budget: budget_bytes,
        }
    }

    /// Look a value up and mark it recently used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.map.get_mut(key)?;
        self.order.remove(&entry.tick);
        entry.tick = tick;
        self.order.insert(tick, key.clone());
        Some(entry.value.clone())
    }

    /// Look without touching the recency order.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|e| &e.value)
    }

    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Insert (or replace) and evict least recently used entries until the
    /// total fits the budget. Returns the evicted keys, so a caller can
    /// release what they stand for (kitty image ids in the terminal).
    pub fn insert(&mut self, key: K, value: V, bytes: usize) -> Vec<K> {
        let mut evicted = Vec::new();
        if let Some(old) = self.map.remove(&key) {
            self.order.remove(&old.tick);
            self.bytes -= old.bytes;
        }
        if bytes > self.budget {
            return evicted;
        }
        while self.bytes + bytes > self.budget {
            let Some((_, old_key)) = self.order.pop_first() else {
                break;
            };
            if let Some(old) = self.map.remove(&old_key) {
                self.bytes -= old.bytes;
            }
            evicted.push(old_key);
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.map.insert(
            key,
            Entry {
                value,
                bytes,
                tick: self.tick,
            },
        );
        self.bytes += bytes;
        evicted
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let e = self.map.remove(key)?;
        self.order.remove(&e.tick);
        self.bytes -= e.bytes;
        Some(e.value)
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes currently held (always ≤ the budget).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn budget(&self) -> usize {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_by_bytes() {
        let mut c = ByteLru::new(100);
        assert!(c.insert("a", 1, 40).is_empty());
        assert!(c.insert("b", 2, 40).is_empty());
        assert_eq!(c.get(&"a"), Some(1)); // a is now newer than b
        let evicted = c.insert("c", 3, 40);
        assert_eq!(evicted, vec!["b"]);
        assert_eq!(c.bytes(), 80);
        assert!(c.contains(&"a") && c.contains(&"c") && !c.contains(&"b"));
    }

    #[test]
    fn never_exceeds_budget() {
        let mut c = ByteLru::new(1000);
        for i in 0..500u32 {
            c.insert(i, i, (i as usize * 37) % 300 + 1);
            assert!(c.bytes() <= c.budget(), "{} > {}", c.bytes(), c.budget());
        }
        // The total matches the entries that are left.
        let sum: usize = (0..500u32)
            .filter(|i| c.contains(i))
            .map(|i| (i as usize * 37) % 300 + 1)
            .sum();
        assert_eq!(sum, c.bytes());
    }

    #[test]
    fn oversized_value_is_not_stored_and_evicts_nothing() {
        let mut c = ByteLru::new(10);
        c.insert(1, "small", 5);
        assert!(c.insert(2, "huge", 11).is_empty());
        assert!(c.contains(&1) && !c.contains(&2));
    }

    #[test]
    fn replace_updates_size() {
        let mut c = ByteLru::new(10);
        c.insert(1, 'x', 8);
        c.insert(1, 'y', 3);
        assert_eq!(c.bytes(), 3);
        assert_eq!(c.peek(&1), Some(&'y'));
        assert_eq!(c.remove(&1), Some('y'));
        assert_eq!(c.bytes(), 0);
        assert!(c.is_empty());
    }
}
