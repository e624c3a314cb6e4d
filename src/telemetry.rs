//! Logging: one subscriber for the whole process, readable in a terminal or as JSON.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// What is logged unless `RUST_LOG` says otherwise.
const DEFAULT_FILTER: &str = "info,tower_http=info,sqlx=warn";

/// Installs the global subscriber. `RUST_LOG` overrides the default filter with
/// `target=level` directives. (A static per-target filter, not `EnvFilter`: the request
/// span is entered on every poll of a request, and `EnvFilter` looked each entry up in
/// its span registry: 5 % of the server's time on a busy page.)
pub fn init(json: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => directives.parse::<Targets>().unwrap_or_else(|error| {
            eprintln!("RUST_LOG ignored ({error}); logging with `{DEFAULT_FILTER}`");
            default_filter()
        }),
        Err(_) => default_filter(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    // A second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer()).try_init()
    };
}

fn default_filter() -> Targets {
    DEFAULT_FILTER
        .parse()
        .expect("the default filter is well formed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_filter_parses() {
        let filter = default_filter();
        assert!(filter.would_enable("quorum", &tracing::Level::INFO));
        assert!(!filter.would_enable("sqlx::query", &tracing::Level::INFO));
    }
}
