use wb_monitor::{ModelOutput, Window};

#[test]
fn confidence_is_the_highest_probability_and_the_first_maximum_is_the_label() {
    let out = ModelOutput::from_probabilities(vec![0.2, 0.4, 0.4]);
    assert_eq!(out, ModelOutput::Classification { probabilities: vec![0.2, 0.4, 0.4], label: 1, confidence: 0.4 });
}

#[test]
fn a_window_ending_before_it_starts_is_refused() {
    let t = chrono::Utc::now();
    let err = Window::new(Some(t), Some(t)).expect_err("empty window");
    assert!(err.to_string().contains("must be after its start"), "{err}");
}
