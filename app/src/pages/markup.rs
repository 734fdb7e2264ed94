//! Pieces of markup written as text (the SVG of the flow view, the definition graph and the
//! duration chart are drawn as one fragment each).

/// Text made safe inside an element or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Whole pixels: integer formatting keeps float formatting out of the browser bundle.
pub(crate) fn px(v: f32) -> i64 {
    v.round() as i64
}
