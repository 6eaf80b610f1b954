//! Zero heap allocations per frame in steady state, counted process-wide
//! (rayon's workers and the result writer allocate on their own threads).
//! A test binary of its own, so no other test allocates meanwhile.

#![allow(clippy::unwrap_used)]

use memview_capture::{BufferPool, FrameSource, Synthetic};
use memview_pixel::format::I420;
use memview_roi::analyzers::{Colour, Edges, Histogram, MeanVariance, Motion};
use memview_roi::events::{MotionEvents, MotionOptions};
use memview_roi::sink::{
    Csv, EventLines, JsonLines, ResultWriter, Sink, SinkPolicy, WriterOptions,
};
use memview_roi::{RoiRunner, Zone};
use memview_testkit::{process_allocations, process_counts, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The runner, motion events, and every result sink on the writer thread
/// (records through the ring, JSON Lines and CSV formatted into reused
/// buffers): nothing allocates once warm.
#[test]
fn steady_state_allocates_nothing_per_frame() {
    let mut src = Synthetic::new(&I420, 640, 360, 10).unwrap();
    let zones: Vec<Zone> = src
        .boxes()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
        .collect();
    let mut runner = RoiRunner::new(
        zones,
        vec![
            MeanVariance.into(),
            Histogram.into(),
            Motion.into(),
            Edges.into(),
            Colour.into(),
        ],
        2,
    )
    .unwrap();
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(JsonLines::new(std::io::sink())),
        Box::new(Csv::new(
            Box::new(std::io::sink()),
            Some(Box::new(std::io::sink())),
        )),
        Box::new(EventLines::new(std::io::sink())),
    ];
    let mut writer = ResultWriter::start(
        sinks,
        WriterOptions {
            capacity: 8,
            // Every record written: the writer's formatting is counted on
            // every frame.
            policy: SinkPolicy::Block,
            // The writer counts its own steady state too (process-wide
            // here, while the pipeline is steady as well).
            counts: Some(process_counts),
            warmup: 20,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    // A low threshold and short runs: events start and end all along.
    let mut events = MotionEvents::new(MotionOptions {
        threshold: 0.5,
        start_frames: 1,
        end_frames: 1,
    })
    .unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let mut raised = 0;
    let (n, ()) = runner.run(|runner| {
        let mut frame = |runner: &mut RoiRunner, events: &mut MotionEvents, first: bool| {
            let lease = src
                .next_frame(pool.try_acquire().unwrap())
                .unwrap()
                .unwrap();
            let results = runner.process(lease);
            events.update(&results);
            if first {
                writer.prepare(|rec| rec.fill(&results));
            }
            assert!(writer.push(|rec| {
                rec.fill(&results);
                rec.push_events(events.pending());
            }));
            raised += events.pending().len();
            events.clear_pending();
        };
        for i in 0..20 {
            frame(runner, &mut events, i == 0);
        }
        process_allocations(|| {
            for _ in 0..200 {
                frame(runner, &mut events, false);
            }
        })
    });
    assert_eq!(n, 0, "allocations in 200 steady-state frames");
    assert!(
        raised > 0,
        "no event was raised: the events path went untested"
    );
    let written = writer.finish().unwrap();
    assert_eq!(written.records, 220);
    assert_eq!(written.counted, 200);
    assert_eq!(
        written.allocations,
        Some((0, 0)),
        "allocations while the writer wrote its last 200 records"
    );
    assert_eq!(
        process_allocations(|| drop(std::hint::black_box(vec![0u8; 8]))).0,
        1,
        "the counter counts"
    );
}
