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
/// 1..=[`MAX_BLOCK`]. 8-bit samples and 16-bit little-endian samples
/// (10-, 12- and 16-bit formats, MSB-aligned ones such as P010 included:
/// the mean is taken of the values, so their padding bits stay zero) are
/// both masked; a format of any other sample size is refused rather than
/// written back unmasked.
pub fn pixelate(frame: &mut FrameMut<'_>, block: usize) -> Result<(), PixelError> {
    let block = block.clamp(1, MAX_BLOCK);
    let format = frame.format();
    let sb = format.sample_bytes;
    if sb != 1 && sb != 2 {
        return Err(PixelError::Unsupported {
            from: format.name,
            to: "a pixelated frame",
        });
    }
    for p in 0..format.planes {
        let (sw, sh) = format.plane_subsampling(p);
        // The plane's components share one shift (the table's formats).
        let shift = format
            .components
            .iter()
            .find(|c| c.plane == p)
            .map_or(0, |c| c.shift);
        let Some(plane) = frame.plane_mut(p) else {
            continue;
        };
        let (bw, bh) = ((block >> sw).max(1), (block >> sh).max(1));
        let comps = plane.shape().get(2).copied().unwrap_or(1);
        let width = plane.shape()[1];
        let mut rows = plane.rows_mut()?;
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
                    let at = |x: usize| (x * comps + c) * sb;
                    let mut sum = 0u64;
                    let mut cnt = 0u64;
                    for r in band.iter().flatten() {
                        for x in x0..x1 {
                            sum += u64::from(read_sample(r, at(x), sb) >> shift);
                            cnt += 1;
                        }
                    }
                    let mean = ((sum + cnt / 2) / cnt.max(1)) as u16;
                    for r in band.iter_mut().flatten() {
                        for x in x0..x1 {
                            write_sample(r, at(x), sb, mean << shift);
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

/// The sample of `sb` bytes (1, or 2 little-endian) at byte `at` of a row.
#[inline(always)]
fn read_sample(row: &[u8], at: usize, sb: usize) -> u16 {
    if sb == 2 {
        u16::from_le_bytes([row[at], row[at + 1]])
    } else {
        u16::from(row[at])
    }
}

/// Writes a sample of `sb` bytes (1, or 2 little-endian) at byte `at`.
#[inline(always)]
fn write_sample(row: &mut [u8], at: usize, sb: usize, v: u16) {
    if sb == 2 {
        row[at..at + 2].copy_from_slice(&v.to_le_bytes());
    } else {
        row[at] = v as u8;
    }
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
    // Saturating: a zone reaching past `usize::MAX` is out of the frame,
    // which `mask_zones` refuses; it must not wrap into an overlap test.
    let snap = |r: &Rect| {
        let x0 = r.x / gx * gx;
        let y0 = r.y / gy * gy;
        let x1 = r.x.saturating_add(r.w).div_ceil(gx).saturating_mul(gx);
        let y1 = r.y.saturating_add(r.h).div_ceil(gy).saturating_mul(gy);
        Rect::new(x0, y0, x1 - x0, y1 - y0)
    };
    // Each zone's round: the first in which it overlaps no zone placed
    // before it (greedy, in zone order). The rounds a zone's earlier
    // neighbours took are marked in a bit set, so thousands of zones that
    // all overlap cost n^2 overlap tests, not n^3. Inline up to
    // INLINE_ROIS zones, so ten zones a frame allocate nothing.
    let snapped: SmallVec<[Rect; INLINE_ROIS]> = zones.iter().map(snap).collect();
    let mut round_of: SmallVec<[usize; INLINE_ROIS]> = SmallVec::with_capacity(zones.len());
    let mut taken: SmallVec<[u64; 1]> = SmallVec::new();
    for (i, s) in snapped.iter().enumerate() {
        taken.clear();
        taken.resize(i / 64 + 1, 0);
        for (o, &ro) in snapped[..i].iter().zip(&round_of) {
            if o.overlaps(s) {
                taken[ro / 64] |= 1 << (ro % 64);
            }
        }
        // Rounds run below i + 1, so a free one is always found.
        let r = (0..=i)
            .find(|&r| taken[r / 64] & (1 << (r % 64)) == 0)
            .unwrap_or(i);
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
