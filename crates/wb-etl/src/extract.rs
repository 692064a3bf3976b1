//! TODO-extract (being written)
