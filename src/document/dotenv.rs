// placeholder until the dotenv module lands
use super::*;
pub fn parse(_src: &str) -> Result<ParsedFile, SyntaxError> { Err(SyntaxError::new(1, 1, "dotenv not supported yet")) }
pub fn render_value(_leaf: &Leaf, _ty: ValueType, text: &str) -> Rendered { Rendered::plain(text.to_owned()) }
pub fn render_metadata(_tree: &Tree, _newline: &str) -> String { String::new() }
