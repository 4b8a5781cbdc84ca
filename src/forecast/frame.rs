//! Frames as they cross the binding: columns, already normalised by the JS wrapper.

/// A long-format frame: one row per (series, timestamp).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputFrame {
    pub unique_id: Vec<String>,
    /// Epoch milliseconds for calendar frequencies, the integer step otherwise.
    pub ds: Vec<f64>,
    /// The target; None for future-exogenous and static frames.
    pub y: Option<Vec<f64>>,
    /// Exogenous columns, in the caller's order.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl InputFrame {
    pub fn len(&self) -> usize {
        self.unique_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.unique_id.is_empty()
    }
    /// The exogenous column called `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

/// A result frame: `unique_id`, `ds`, then one column per output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputFrame {
    pub unique_id: Vec<String>,
    pub ds: Vec<f64>,
    pub columns: Vec<(String, Vec<f64>)>,
}

impl OutputFrame {
    pub fn len(&self) -> usize {
        self.unique_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.unique_id.is_empty()
    }
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}
