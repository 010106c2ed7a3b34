//! The properties the fuzz targets check, one function per parser or decoder. Each takes
//! arbitrary bytes and panics only when a property fails.

#[path = "properties.rs"]
pub mod properties;
