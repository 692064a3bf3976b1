//! tabular (being written)
