//! Keyset pagination: lists fetch one row more than a page and continue after the last
//! row's key, so a page costs the same however deep it is (no OFFSET).

/// One page of a list and the key to continue after, if there is more.
#[derive(Debug)]
pub struct KeysetPage<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> KeysetPage<T, K> {
    /// Makes a page from up to `page_size + 1` rows fetched in list order.
    pub fn from_rows(mut rows: Vec<T>, page_size: usize, key: impl Fn(&T) -> K) -> Self {
        let next = if rows.len() > page_size {
            rows.truncate(page_size);
            rows.last().map(key)
        } else {
            None
        };
        Self { items: rows, next }
    }
}

/// How many rows to fetch for a page of `page_size`.
pub fn fetch_limit(page_size: usize) -> i64 {
    i64::try_from(page_size).unwrap_or(i64::MAX - 1) + 1
}

/// The query string of a filtered list, without its page position: the filters that are
/// set, for the links to the first and next pages.
pub fn filter_query(filters: &[(&str, &Option<String>)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in filters {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_fetch_has_a_next_key_and_a_short_one_does_not() {
        let page = KeysetPage::from_rows(vec![1, 2, 3], 2, |n| *n);
        assert_eq!((page.items, page.next), (vec![1, 2], Some(2)));
        let page = KeysetPage::from_rows(vec![1, 2], 2, |n| *n);
        assert_eq!((page.items, page.next), (vec![1, 2], None));
    }
}
