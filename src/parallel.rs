//! Running one job per file on all cores, for the batch commands (`encrypt -i DIR`,
//! `decrypt -i`, `check`).
//!
//! The jobs are independent and each takes milliseconds to seconds, so a shared counter
//! handing out the next index to a few scoped threads balances them as well as a
//! work-stealing pool would, without the pool's crates in every build.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Applies `job` to every item on up to one thread per core and returns the results in
/// the items' order.
///
/// A panic in a job is re-raised on the calling thread once the other threads have
/// stopped, as it would be in a sequential loop.
pub fn map_in_order<'a, T, R, F>(items: &'a [T], job: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&'a T) -> R + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get).min(items.len());
    if threads <= 1 {
        return items.iter().map(job).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        // Each thread keeps what it did with the items' indexes; they are put in order
        // once it is joined.
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { return done };
                        done.push((i, job(item)));
                    }
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => {
                    for (i, result) in done {
                        results[i] = Some(result);
                    }
                }
                // The job's own message, not the scope's generic one.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    // Every thread was joined without a panic, so every index was handed out once.
    results.into_iter().map(|r| r.expect("every item was processed")).collect()
}

#[cfg(test)]
mod tests {
    use super::map_in_order;

    #[test]
    fn results_come_back_in_the_items_order() {
        let items: Vec<u64> = (0..1000).collect();
        // Uneven job lengths, so the threads finish out of order.
        let out = map_in_order(&items, |&n| {
            if n % 7 == 0 {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            n * 2
        });
        assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn no_items_no_results() {
        let out: Vec<u8> = map_in_order(&[] as &[u8], |_| unreachable!("no item to process"));
        assert!(out.is_empty());
    }

    #[test]
    fn every_item_runs_exactly_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls: Vec<AtomicUsize> = (0..257).map(|_| AtomicUsize::new(0)).collect();
        let idx: Vec<usize> = (0..257).collect();
        map_in_order(&idx, |&i| calls[i].fetch_add(1, Ordering::Relaxed));
        assert!(calls.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }

    #[test]
    #[should_panic(expected = "job failed")]
    fn a_panicking_job_panics_the_caller() {
        let items: Vec<u32> = (0..64).collect();
        map_in_order(&items, |&n| if n == 33 { panic!("job failed") } else { n });
    }
}
