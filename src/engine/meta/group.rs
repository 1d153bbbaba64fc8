//! Group commit of metadata flushes (strict durability).
//!
//! Every acknowledged change in strict mode ends with a flush of the store, and one flush makes
//! durable everything written before it started. Concurrent callers therefore share flushes: a
//! caller needs a flush that *starts after* it arrived (its change was written before that), so
//! it either starts one itself or waits for the one after the flush now running; whoever starts
//! a flush runs it for all who wait. Nobody is answered by a flush that began before their
//! change was written. With one caller at a time this is exactly one flush per call.

use std::sync::{Condvar, Mutex};

/// Coordinates callers of one flush function (callers block: the blocking pool only).
#[derive(Default)]
pub(crate) struct FlushGroup {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Number of the last flush started (flushes are numbered from 1).
    started: u64,
    /// Number of the last flush finished; `running` while `finished < started`.
    finished: u64,
    /// The error of flush `finished` if it failed (as text: io errors are not `Clone`).
    failed: Option<String>,
}

impl FlushGroup {
    /// Returns once a flush that started after this call has succeeded (or fails with the error
    /// of the flush that should have covered it). `flush` runs on the calling thread of
    /// whichever caller leads a group.
    pub(crate) fn flush<E: std::fmt::Display>(
        &self,
        flush: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), FlushFailed<E>> {
        let mut s = self.state.lock().expect("flush group lock");
        // A flush running now may have started before our change was written: we need the next.
        let need = s.started + 1;
        loop {
            if s.finished >= need {
                return match &s.failed {
                    None => Ok(()),
                    Some(e) => Err(FlushFailed::Shared(e.clone())),
                };
            }
            if s.finished == s.started {
                // Nobody flushes: lead flush `need` (== started + 1, as nothing runs).
                s.started += 1;
                let number = s.started;
                drop(s);
                let result = flush();
                let mut s = self.state.lock().expect("flush group lock");
                s.finished = number;
                s.failed = result.as_ref().err().map(|e| e.to_string());
                drop(s);
                self.done.notify_all();
                return result.map_err(FlushFailed::Own);
            }
            s = self.done.wait(s).expect("flush group lock");
        }
    }
}

/// Why a grouped flush failed: our own flush's error, or that of a flush led by another caller.
#[derive(Debug)]
pub(crate) enum FlushFailed<E> {
    Own(E),
    Shared(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_lone_caller_flushes_every_time() {
        let group = FlushGroup::default();
        let mut n = 0;
        for _ in 0..3 {
            group
                .flush(|| -> Result<(), &str> {
                    n += 1;
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(n, 3);
    }

    #[test]
    fn every_caller_is_covered_by_a_flush_that_started_after_it_arrived() {
        // Each caller "writes" (bumps `written`) and then flushes; a flush records how much was
        // written when it started. Every caller must return after a flush that saw its write.
        let group = Arc::new(FlushGroup::default());
        let written = Arc::new(AtomicU64::new(0));
        let durable = Arc::new(AtomicU64::new(0));
        let flushes = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (group, written, durable, flushes) = (
                    group.clone(),
                    written.clone(),
                    durable.clone(),
                    flushes.clone(),
                );
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let mine = written.fetch_add(1, Ordering::SeqCst) + 1;
                        group
                            .flush(|| -> Result<(), &str> {
                                let seen = written.load(Ordering::SeqCst);
                                std::thread::yield_now();
                                durable.fetch_max(seen, Ordering::SeqCst);
                                flushes.fetch_add(1, Ordering::SeqCst);
                                Ok(())
                            })
                            .unwrap();
                        assert!(durable.load(Ordering::SeqCst) >= mine);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(flushes.load(Ordering::SeqCst) <= 1600);
    }

    #[test]
    fn a_failed_flush_fails_its_caller_and_the_next_caller_flushes_again() {
        let group = FlushGroup::default();
        let err = group.flush(|| Err("disk gone")).unwrap_err();
        assert!(matches!(err, FlushFailed::Own("disk gone")));
        // The next caller needs a new flush, which succeeds.
        group.flush(|| -> Result<(), &str> { Ok(()) }).unwrap();
    }
}
