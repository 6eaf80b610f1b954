//! The privacy mask: pixelate zones of a frame in place, all zones at once,
//! each on its own thread through disjoint mutable ROIs.

use memview_pixel::{FrameMut, PixelError, Rect, Snap, INLINE_ROIS};
use rayon::prelude::*;
use smallvec::SmallVec;

/// The largest pixelation block (rows of a band are held in a fixed array,
/// so masking allocates nothing).
pub const MAX_BLOCK: usize = 64;

/// Replaces every `block x block` cell of every plane of `frame` with the
/// cell's mean (a pixelation), in place. `block` is clamped to
/// 1..=[`MAX_BLOCK`].
pub fn pixelate(frame: &mut FrameMut<'_>, block: usize) -> Result<(), PixelError> {
    let block = block.clamp(1, MAX_BLOCK);
    let format = frame.format();
    for p in 0..format.planes {
        let (sw, sh) = format.plane_subsampling(p);
        let Some(plane) = frame.plane_mut(p) else {
            continue;
        };
        let (bw, bh) = ((block >> sw).max(1), (block >> sh).max(1));
        let comps = plane.shape().get(2).copied().unwrap_or(1);
        let width = plane.shape()[1];
        if format.sample_bytes != 1 {
            continue;
        }
        let Ok(mut rows) = plane.rows_mut() else {
            continue;
        };
        let mut slots: [Option<&mut [u8]>; MAX_BLOCK] = [const { None }; MAX_BLOCK];
        loop {
            let mut n = 0;
            for slot in slots.iter_mut().take(bh) {
                match rows.next() {
                    Some(r) => {
                        *slot = Some(r);
                        n += 1;
                    }
                    None => break,
                }
            }
            if n == 0 {
                break;
            }
            let band = &mut slots[..n];
            for x0 in (0..width).step_by(bw) {
                let x1 = (x0 + bw).min(width);
                for c in 0..comps {
                    let mut sum = 0u32;
                    let mut cnt = 0u32;
                    for r in band.iter().flatten() {
                        for x in x0..x1 {
                            sum += u32::from(r[x * comps + c]);
                            cnt += 1;
                        }
                    }
                    let mean = ((sum + cnt / 2) / cnt.max(1)) as u8;
                    for r in band.iter_mut().flatten() {
                        for x in x0..x1 {
                            r[x * comps + c] = mean;
                        }
                    }
                }
            }
            for slot in band.iter_mut() {
                *slot = None;
            }
        }
    }
    Ok(())
}

/// Pixelates every zone of `frame` in parallel. Zones are snapped outward
/// to the chroma grid; zones that overlap after snapping are refused
/// ([`PixelError::RoisOverlap`]), as two threads would write the same bytes
/// (see [`mask_all`] for detections that may overlap).
pub fn mask_zones(frame: FrameMut<'_>, zones: &[Rect], block: usize) -> Result<(), PixelError> {
    let mut rois = frame.split_rois_inline(zones, Snap::Outward)?;
    rois.par_iter_mut()
        .try_for_each(|roi| pixelate(roi.frame_mut(), block))
}

/// Pixelates every zone, overlapping or not: zones are grouped into rounds
/// of pairwise-disjoint ones (after snapping), and each round runs in
/// parallel through [`mask_zones`].
pub fn mask_all(frame: &mut FrameMut<'_>, zones: &[Rect], block: usize) -> Result<(), PixelError> {
    let (gx, gy) = frame.format().grid();
    let snap = |r: &Rect| {
        let x0 = r.x / gx * gx;
        let y0 = r.y / gy * gy;
        Rect::new(
            x0,
            y0,
            (r.x + r.w).div_ceil(gx) * gx - x0,
            (r.y + r.h).div_ceil(gy) * gy - y0,
        )
    };
    // Each zone's round: the first in which it overlaps no zone placed
    // before it (greedy, in zone order; inline up to INLINE_ROIS zones, so
    // ten zones a frame allocate nothing).
    let mut round_of: SmallVec<[usize; INLINE_ROIS]> = SmallVec::new();
    for (i, z) in zones.iter().enumerate() {
        let s = snap(z);
        let mut r = 0;
        while zones[..i]
            .iter()
            .zip(&round_of)
            .any(|(o, &ro)| ro == r && snap(o).overlaps(&s))
        {
            r += 1;
        }
        round_of.push(r);
    }
    let rounds = round_of.iter().max().map_or(0, |&r| r + 1);
    for r in 0..rounds {
        let round: SmallVec<[Rect; INLINE_ROIS]> = zones
            .iter()
            .zip(&round_of)
            .filter(|&(_, &ro)| ro == r)
            .map(|(z, _)| *z)
            .collect();
        mask_zones(frame.reborrow(), &round, block)?;
    }
    Ok(())
}
