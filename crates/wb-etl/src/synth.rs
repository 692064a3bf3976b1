//! TODO-synth (being written)
