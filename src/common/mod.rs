//! Helpers every area uses that are not web plumbing: the calendar, how numbers and times
//! are written, and the numbering of references.

pub mod dates;
pub mod format;
pub mod references;
