//! Backend dialects: pure codecs from the engine's commands and the backend's wire frames to the
//! normalized event model.

pub mod native;
