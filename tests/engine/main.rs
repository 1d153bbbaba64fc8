//! Engine suite: the assembly engine on a temp dir, without HTTP.
mod boundaries;
mod helpers;
mod indexed;
mod journal;
mod lifecycle;
mod open_uploads;
mod properties;
mod ranged_batch;
mod stage_expiry;
