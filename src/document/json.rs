// placeholder until the JSON module lands
use super::*;
pub fn parse(_src: &str) -> Result<ParsedFile, SyntaxError> { Err(SyntaxError::new(1, 1, "JSON not supported yet")) }
pub fn render_value(_leaf: &Leaf, _ty: ValueType, text: &str) -> Rendered { Rendered::plain(text.to_owned()) }
pub fn render_metadata(_doc: &Document, _tree: &Tree, _newline: &str) -> String { String::new() }
pub fn write_tree(_t: &Tree, _d: usize, _o: &mut String) {}
