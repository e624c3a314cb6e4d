//! An area's routes together with the paths they answer, so the route map can list every
//! path it serves (the route-by-role table test compares that list with its rows, and a
//! route nobody put in the table fails it).

use axum::Router;
use axum::routing::MethodRouter;

use super::AppState;

/// An area's router and the paths registered on it.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<String>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `path` (relative to where the area is nested) to `method_router`.
    pub fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method_router);
        self.paths.push(path.to_owned());
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// The paths, each under `prefix` (where the area is nested: its `/` is the prefix
    /// itself, as axum nests it).
    pub fn paths_under(&self, prefix: &str) -> Vec<String> {
        self.paths
            .iter()
            .map(|path| match path.as_str() {
                "/" if !prefix.is_empty() => prefix.to_owned(),
                _ => format!("{prefix}{path}"),
            })
            .collect()
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
