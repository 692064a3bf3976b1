//! TODO-download (being written)
