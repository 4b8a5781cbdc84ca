//! Options every model shares, with NeuralForecast's names (camelCase in JSON) and meanings.
//! Each model supplies its own defaults (NeuralForecast's differ per model).

use serde_json::Value;

/// Training and data options common to all models.
#[derive(Clone, Debug, PartialEq)]
pub struct CommonOptions {
    /// Forecast horizon.
    pub h: usize,
    /// Length of the input window.
    pub input_size: usize,
    pub max_steps: usize,
    pub learning_rate: f64,
    /// Halvings of the learning rate over training (StepLR); -1 for none.
    pub num_lr_decays: i64,
    /// Validation checks without improvement before stopping; -1 disables early stopping.
    pub early_stop_patience_steps: i64,
    pub val_check_steps: usize,
    /// Series per training batch.
    pub batch_size: usize,
    pub valid_batch_size: Option<usize>,
    /// Windows sampled per training step.
    pub windows_batch_size: usize,
    /// Windows per inference batch; None = all at once.
    pub inference_windows_batch_size: Option<usize>,
    /// Distance between consecutive training windows.
    pub step_size: usize,
    pub start_padding_enabled: bool,
    /// `identity | standard | robust | minmax | minmax1 | invariant | revin`.
    pub scaler_type: String,
    /// The training loss as the JS API gave it (`{"type": "MAE"}` by default).
    pub loss: Value,
    /// The validation loss; None = same as `loss`.
    pub valid_loss: Option<Value>,
    pub random_seed: u64,
    /// Output column name; None = the class name.
    pub alias: Option<String>,
    pub futr_exog_list: Vec<String>,
    pub hist_exog_list: Vec<String>,
    pub stat_exog_list: Vec<String>,
    /// Number of series, for multivariate models.
    pub n_series: Option<usize>,
}
