//! The workflow's steps against a real local store and a real model server (the pixel
//! baseline trained on synthetic bar images), and every refusal.

mod executor;
mod steps;
