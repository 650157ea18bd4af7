//! The document reading view model: zoom, pan, rotate (the view only; the file
//! is never changed), jump to a region of a 3×3 grid, and a 1:1 pixel view.
//!
//! Pure: every function maps (image size, view state, area pixels) to the
//! source crop and the output size. The state is small, `Copy` and `Hash`, so
//! it is part of the encoded-output cache key.

/// A view rotation, clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    pub fn clockwise(self) -> Rotation {
        match self {
            Rotation::R0 => Rotation::R90,
            Rotation::R90 => Rotation::R180,
            Rotation::R180 => Rotation::R270,
            Rotation::R270 => Rotation::R0,
        }
    }

    pub fn degrees(self) -> u16 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }

    /// Size of an image of size `(w, h)` after this rotation.
    pub fn apply_size(self, (w, h): (u32, u32)) -> (u32, u32) {
        match self {
            Rotation::R0 | Rotation::R180 => (w, h),
            Rotation::R90 | Rotation::R270 => (h, w),
        }
    }
}

/// Zoom factors relative to "fit", step by step for `+`/`−`.
pub const ZOOM_STEPS: [f64; 9] = [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0];

/// Zoom (relative to fit) used when jumping to a region of the 3×3 grid:
/// a third of the image then roughly fills the pane.
const REGION_ZOOM_STEP: u8 = 3;

/// Centre coordinates are stored as fractions in 1/65535 units so the state
/// stays `Eq + Hash` (a cache key) and the output is reproducible.
const UNIT: f64 = 65535.0;

/// Where the reviewer is looking. `ViewState::default()` is the whole image,
/// upright, fitted to the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewState {
    rotation: Rotation,
    /// Index into [`ZOOM_STEPS`]; ignored while `one_to_one` is on.
    zoom: u8,
    one_to_one: bool,
    /// Centre of the visible window in the rotated image, 0..=65535.
    cx: u16,
    cy: u16,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            rotation: Rotation::R0,
            zoom: 0,
            one_to_one: false,
            cx: 32768,
            cy: 32768,
        }
    }
}

/// Sizes a view computation needs: the upright image (EXIF already applied,
/// before the view rotation) and the pane in the protocol's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub image: (u32, u32),
    pub area_px: (u32, u32),
}

/// A rectangle of source pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CropRect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// What to cut from the (rotated) source and how large to draw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewGeometry {
    /// In the coordinates of the image after the view rotation.
    pub crop: CropRect,
    /// Output pixels, never larger than the area.
    pub out: (u32, u32),
    /// Output pixels per source pixel.
    pub scale: f64,
}

/// A direction for panning with the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pan {
    Left,
    Right,
    Up,
    Down,
}

impl ViewState {
    pub fn fit() -> Self {
        ViewState::default()
    }

    pub fn rotation(&self) -> Rotation {
        self.rotation
    }

    pub fn is_fit(&self) -> bool {
        !self.one_to_one && self.zoom == 0
    }

    pub fn is_one_to_one(&self) -> bool {
        self.one_to_one
    }

    /// Zoom factor relative to fit (1.0 at fit).
    pub fn zoom_factor(&self) -> f64 {
        ZOOM_STEPS[usize::from(self.zoom).min(ZOOM_STEPS.len() - 1)]
    }

    /// Centre of the visible window as fractions of the rotated image.
    pub fn centre(&self) -> (f64, f64) {
        (f64::from(self.cx) / UNIT, f64::from(self.cy) / UNIT)
    }

    fn set_centre(&mut self, x: f64, y: f64) {
        self.cx = (x.clamp(0.0, 1.0) * UNIT).round() as u16;
        self.cy = (y.clamp(0.0, 1.0) * UNIT).round() as u16;
    }

    /// Output pixels per source pixel for this state.
    pub fn scale(&self, g: Geometry) -> f64 {
        if self.one_to_one {
            return 1.0;
        }
        fit_scale(self.rotation.apply_size(g.image), g.area_px) * self.zoom_factor()
    }

    /// Rotate the view 90° clockwise, keeping the same spot in the centre.
    pub fn rotate(&mut self) {
        let (x, y) = self.centre();
        self.rotation = self.rotation.clockwise();
        // A point (x, y) moves to (1 − y, x) under a clockwise quarter turn.
        self.set_centre(1.0 - y, x);
    }

    /// One zoom step in. From 1:1, the first step whose scale is above 1.
    pub fn zoom_in(&mut self, g: Geometry) {
        if self.one_to_one {
            self.one_to_one = false;
            let fit = fit_scale(self.rotation.apply_size(g.image), g.area_px);
            self.zoom = step_index(|f| fit * f > 1.0 + 1e-9).unwrap_or(last_step());
        } else {
            self.zoom = (self.zoom + 1).min(last_step());
        }
        self.clamp_centre(g);
    }

    /// One zoom step out, down to fit (which re-centres).
    pub fn zoom_out(&mut self, g: Geometry) {
        if self.one_to_one {
            self.one_to_one = false;
            let fit = fit_scale(self.rotation.apply_size(g.image), g.area_px);
            self.zoom = (0..=last_step())
                .rev()
                .find(|&i| fit * ZOOM_STEPS[usize::from(i)] < 1.0 - 1e-9)
                .unwrap_or(0);
        } else {
            self.zoom = self.zoom.saturating_sub(1);
        }
        if self.zoom == 0 {
            self.set_centre(0.5, 0.5);
        }
        self.clamp_centre(g);
    }

    /// Back to the whole image (rotation kept).
    pub fn reset_zoom(&mut self) {
        self.zoom = 0;
        self.one_to_one = false;
        self.set_centre(0.5, 0.5);
    }

    /// Toggle the 1:1 view: one source pixel per output pixel, for reading
    /// small print. Keeps the centre.
    pub fn toggle_one_to_one(&mut self, g: Geometry) {
        self.one_to_one = !self.one_to_one;
        self.clamp_centre(g);
    }

    /// Move the window by a quarter of its size, stopping at the edges.
    pub fn pan(&mut self, dir: Pan, g: Geometry) {
        let (iw, ih) = self.rotation.apply_size(g.image);
        let crop = self.compute(g).crop;
        let (dx, dy) = match dir {
            Pan::Left => (-f64::from(crop.w) / 4.0, 0.0),
            Pan::Right => (f64::from(crop.w) / 4.0, 0.0),
            Pan::Up => (0.0, -f64::from(crop.h) / 4.0),
            Pan::Down => (0.0, f64::from(crop.h) / 4.0),
        };
        // The centre is always kept clamped, so a pan after hitting an edge
        // moves at once instead of first undoing an invisible excess.
        let (x, y) = self.centre();
        let cx = x + dx / f64::from(iw.max(1));
        let cy = y + dy / f64::from(ih.max(1));
        self.set_centre(cx, cy);
        self.clamp_centre(g);
    }

    /// Jump to region `n` of a 3×3 grid in reading order (1 top-left,
    /// 9 bottom-right), zooming in to at least 3× fit. Out-of-range numbers
    /// are ignored.
    pub fn jump(&mut self, n: u8, g: Geometry) {
        if !(1..=9).contains(&n) {
            return;
        }
        let col = f64::from((n - 1) % 3);
        let row = f64::from((n - 1) / 3);
        if !self.one_to_one {
            self.zoom = self.zoom.max(REGION_ZOOM_STEP);
        }
        self.set_centre((col + 0.5) / 3.0, (row + 0.5) / 3.0);
        self.clamp_centre(g);
    }

    /// Keep the centre where the window stays inside the image (in exact
    /// arithmetic, so repeated clamps do not drift by rounding).
    fn clamp_centre(&mut self, g: Geometry) {
        let (iw, ih) = self.rotation.apply_size(g.image);
        if iw == 0 || ih == 0 {
            return;
        }
        let scale = self.scale(g);
        let half_w = (f64::from(g.area_px.0.max(1)) / scale / f64::from(iw) / 2.0).min(0.5);
        let half_h = (f64::from(g.area_px.1.max(1)) / scale / f64::from(ih) / 2.0).min(0.5);
        let (x, y) = self.centre();
        self.set_centre(x.clamp(half_w, 1.0 - half_w), y.clamp(half_h, 1.0 - half_h));
    }

    /// The source crop (in rotated image coordinates) and the output size.
    pub fn compute(&self, g: Geometry) -> ViewGeometry {
        let (iw, ih) = self.rotation.apply_size(g.image);
        let (aw, ah) = (g.area_px.0.max(1), g.area_px.1.max(1));
        if iw == 0 || ih == 0 {
            return ViewGeometry {
                crop: CropRect {
                    x: 0,
                    y: 0,
                    w: 0,
                    h: 0,
                },
                out: (0, 0),
                scale: 1.0,
            };
        }
        let scale = self.scale(g);
        // The part of the image the area can show at this scale. The fit
        // scale is area/image, and area/scale comes back as 876.9999… for
        // 877: without the slack, fit would drop a row and draw 599 rows.
        let shown = |a: u32| (f64::from(a) / scale + 1e-6).floor() as u32;
        let cw = shown(aw).clamp(1, iw);
        let ch = shown(ah).clamp(1, ih);
        let (fx, fy) = self.centre();
        let x = (fx * f64::from(iw) - f64::from(cw) / 2.0).round();
        let y = (fy * f64::from(ih) - f64::from(ch) / 2.0).round();
        let x = (x.max(0.0) as u32).min(iw - cw);
        let y = (y.max(0.0) as u32).min(ih - ch);
        let ow = ((f64::from(cw) * scale).round() as u32).clamp(1, aw);
        let oh = ((f64::from(ch) * scale).round() as u32).clamp(1, ah);
        ViewGeometry {
            crop: CropRect { x, y, w: cw, h: ch },
            out: (ow, oh),
            scale,
        }
    }
}

fn last_step() -> u8 {
    (ZOOM_STEPS.len() - 1) as u8
}

fn step_index(pred: impl Fn(f64) -> bool) -> Option<u8> {
    ZOOM_STEPS.iter().position(|&f| pred(f)).map(|i| i as u8)
}

/// Scale at which the whole image fits the area (may be above 1: a small
/// image is enlarged to fill the pane, which is what a reviewer wants).
pub fn fit_scale((iw, ih): (u32, u32), (aw, ah): (u32, u32)) -> f64 {
    if iw == 0 || ih == 0 {
        return 1.0;
    }
    (f64::from(aw.max(1)) / f64::from(iw)).min(f64::from(ah.max(1)) / f64::from(ih))
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Geometry = Geometry {
        image: (1600, 1000),
        area_px: (600, 600),
    };

    #[test]
    fn fit_shows_whole_image_preserving_aspect() {
        let v = ViewState::fit().compute(G);
        assert_eq!(
            v.crop,
            CropRect {
                x: 0,
                y: 0,
                w: 1600,
                h: 1000
            }
        );
        assert_eq!(v.out, (600, 375));
    }

    #[test]
    fn fit_shows_every_row_despite_rounding() {
        // 600/877 then 600/scale is 876.9999…: fit must still take all 877
        // rows to all 600 (the half-size decode of an A4 scan).
        for image in [(620, 877), (1240, 1754), (155, 220), (310, 439)] {
            let v = ViewState::fit().compute(Geometry {
                image,
                area_px: (600, 600),
            });
            assert_eq!((v.crop.x, v.crop.y), (0, 0), "{image:?}");
            assert_eq!((v.crop.w, v.crop.h), image, "{image:?}");
            assert_eq!(v.out.1, 600, "{image:?}");
        }
    }

    #[test]
    fn small_image_is_enlarged_to_fit() {
        let g = Geometry {
            image: (100, 50),
            area_px: (600, 600),
        };
        assert_eq!(ViewState::fit().compute(g).out, (600, 300));
    }

    #[test]
    fn rotate_swaps_axes_and_four_turns_are_identity() {
        let mut s = ViewState::fit();
        s.rotate();
        assert_eq!(s.rotation(), Rotation::R90);
        let v = s.compute(G);
        assert_eq!((v.crop.w, v.crop.h), (1000, 1600));
        assert_eq!(v.out, (375, 600));
        s.rotate();
        s.rotate();
        s.rotate();
        assert_eq!(s, ViewState::fit());
    }

    #[test]
    fn rotate_keeps_the_same_spot_centred() {
        let mut s = ViewState::fit();
        s.jump(1, G); // top-left region
        let (x, y) = s.centre();
        s.rotate();
        // Top-left of the upright image is top-right after a clockwise turn.
        let (x2, y2) = s.centre();
        assert!(x2 > 0.5 && y2 < 0.5, "{x},{y} -> {x2},{y2}");
    }

    #[test]
    fn zoom_steps_shrink_the_crop_and_fill_the_area() {
        let mut s = ViewState::fit();
        s.zoom_in(G);
        let v = s.compute(G);
        assert!((v.scale - 0.375 * 1.5).abs() < 1e-9);
        assert_eq!(v.crop.w, 1066);
        assert_eq!(v.out.0, 600);
        // Centred.
        assert_eq!(v.crop.x, (1600 - 1066) / 2);
        for _ in 0..20 {
            s.zoom_in(G);
        }
        assert_eq!(s.zoom_factor(), 16.0);
        for _ in 0..20 {
            s.zoom_out(G);
        }
        assert!(s.is_fit());
        assert_eq!(s.compute(G).out, (600, 375));
    }

    #[test]
    fn pan_moves_a_quarter_window_and_stops_at_edges() {
        let mut s = ViewState::fit();
        s.zoom_in(G);
        s.zoom_in(G); // 2× fit: scale 0.75, window 800×800 of 1600×1000
        let before = s.compute(G).crop;
        assert_eq!((before.w, before.h), (800, 800));
        s.pan(Pan::Right, G);
        let after = s.compute(G).crop;
        assert_eq!(after.x, before.x + 200);
        for _ in 0..10 {
            s.pan(Pan::Right, G);
        }
        assert_eq!(s.compute(G).crop.x, 800, "stops at the right edge");
        // One step back moves at once (no invisible excess to undo).
        s.pan(Pan::Left, G);
        assert_eq!(s.compute(G).crop.x, 600);
        for _ in 0..10 {
            s.pan(Pan::Up, G);
        }
        assert_eq!(s.compute(G).crop.y, 0);
    }

    #[test]
    fn pan_at_fit_does_nothing() {
        let mut s = ViewState::fit();
        s.pan(Pan::Left, G);
        s.pan(Pan::Down, G);
        assert_eq!(s.compute(G), ViewState::fit().compute(G));
    }

    #[test]
    fn jump_to_each_region_of_the_grid() {
        for n in 1..=9u8 {
            let mut s = ViewState::fit();
            s.jump(n, G);
            let v = s.compute(G);
            assert!((s.zoom_factor() - 3.0).abs() < 1e-9);
            let cx = f64::from(v.crop.x) + f64::from(v.crop.w) / 2.0;
            let cy = f64::from(v.crop.y) + f64::from(v.crop.h) / 2.0;
            let col = (cx / 1600.0 * 3.0).floor() as u8;
            let row = (cy / 1000.0 * 3.0).floor() as u8;
            assert_eq!(row * 3 + col + 1, n, "region {n}: centre {cx},{cy}");
        }
        let mut s = ViewState::fit();
        s.jump(0, G);
        s.jump(10, G);
        assert_eq!(s, ViewState::fit());
    }

    #[test]
    fn one_to_one_maps_pixels_exactly() {
        let mut s = ViewState::fit();
        s.jump(5, G);
        s.toggle_one_to_one(G);
        let v = s.compute(G);
        assert_eq!(v.scale, 1.0);
        assert_eq!((v.crop.w, v.crop.h), (600, 600));
        assert_eq!(v.out, (600, 600));
        assert_eq!(v.crop.x, 500);
        // Leaving 1:1 with + picks the first step above 1:1 (0.375 × 3 > 1).
        s.zoom_in(G);
        assert!(!s.is_one_to_one());
        assert!(s.scale(G) > 1.0);
        s.toggle_one_to_one(G);
        s.zoom_out(G);
        assert!(s.scale(G) < 1.0);
    }

    #[test]
    fn one_to_one_on_image_smaller_than_area() {
        let g = Geometry {
            image: (300, 200),
            area_px: (600, 600),
        };
        let mut s = ViewState::fit();
        s.toggle_one_to_one(g);
        let v = s.compute(g);
        assert_eq!(v.out, (300, 200));
        assert_eq!(
            v.crop,
            CropRect {
                x: 0,
                y: 0,
                w: 300,
                h: 200
            }
        );
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        let mut s = ViewState::fit();
        for g in [
            Geometry {
                image: (0, 0),
                area_px: (10, 10),
            },
            Geometry {
                image: (1, 20000),
                area_px: (600, 600),
            },
            Geometry {
                image: (5, 5),
                area_px: (0, 0),
            },
        ] {
            s.zoom_in(g);
            s.pan(Pan::Down, g);
            s.jump(9, g);
            s.rotate();
            s.toggle_one_to_one(g);
            let v = s.compute(g);
            assert!(v.out.0 <= g.area_px.0.max(1) && v.out.1 <= g.area_px.1.max(1));
        }
    }
}
