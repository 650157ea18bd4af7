//! Where pictures go and how they leave: kitty's classic placement (kitty
//! before 0.28 has no Unicode placeholders) placed at its cell, placed
//! once, taken off when a frame no longer draws it; sixel passed through
//! tmux with the outer terminal's cursor moved to the pane's cell.

use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};
use ratatui::widgets::Widget;
use shenhe::domain::imaging::DecodeLimits;
use shenhe::images::detect::PaneOffset;
use shenhe::images::{
    FontSize, ImageWidget, ProtocolKind, RenderTarget, TerminalImages, ViewState, render_bytes,
};

use crate::support::images::*;

fn first_cell(buf: &Buffer, area: Rect, r: &shenhe::images::Rendered) -> String {
    let p = r.placement(area);
    buf[(p.x, p.y)].symbol().to_string()
}

#[test]
fn classic_kitty_is_placed_once_and_taken_off_when_not_drawn() {
    let mut target = RenderTarget::new(ProtocolKind::Kitty, FontSize::new(8, 16));
    target.kitty_placeholders = false;
    let r = render_bytes(
        &scan_jpeg(),
        Size::new(30, 12),
        ViewState::fit(),
        &target,
        DecodeLimits::DEFAULT,
    )
    .expect("render");
    let id = r.kitty_id().expect("id");
    let terminal = TerminalImages::new(false);
    let area = Rect::new(2, 3, 30, 12);
    let mut buf = Buffer::empty(Rect::new(0, 0, 40, 20));
    terminal.begin_frame();
    ImageWidget::new(&r, &terminal).render(area, &mut buf);
    let s = first_cell(&buf, area, &r);
    assert!(
        s.contains(&format!("a=t,i={id}")),
        "transmitted without U=1"
    );
    assert!(!s.contains("U=1"));
    assert!(s.contains(&format!("a=p,i={id},p=1")), "placed at the cell");
    assert_eq!(terminal.end_frame(), "", "drawn this frame: stays");
    // The same picture again: neither pixels nor a new placement.
    let mut buf = Buffer::empty(Rect::new(0, 0, 40, 20));
    terminal.begin_frame();
    ImageWidget::new(&r, &terminal).render(area, &mut buf);
    assert!(!first_cell(&buf, area, &r).contains("\x1b_G"));
    assert_eq!(terminal.end_frame(), "");
    // A popup hides it: the frame no longer draws it, so it is taken off.
    terminal.begin_frame();
    ImageWidget::new(&r, &terminal)
        .hidden(true)
        .render(area, &mut Buffer::empty(Rect::new(0, 0, 40, 20)));
    let off = terminal.end_frame();
    assert!(off.contains(&format!("a=d,d=i,i={id}")), "{off:?}");
    assert_eq!(terminal.end_frame(), "", "once");
}

#[test]
fn sixel_through_tmux_moves_the_outer_cursor_to_the_pane_cell() {
    let mut target = RenderTarget::new(ProtocolKind::Sixel, FontSize::new(8, 16));
    target.tmux = true;
    let r = render_bytes(
        &scan_jpeg(),
        Size::new(20, 10),
        ViewState::fit(),
        &target,
        DecodeLimits::DEFAULT,
    )
    .expect("render");
    let terminal = TerminalImages::new(true);
    terminal.set_pane(PaneOffset { x: 61, y: 2 });
    let area = Rect::new(5, 4, 20, 10);
    let mut buf = Buffer::empty(Rect::new(0, 0, 40, 20));
    ImageWidget::new(&r, &terminal).render(area, &mut buf);
    let p = r.placement(area);
    let s = first_cell(&buf, area, &r);
    // tmux erases its own copy of the cells, then the outer terminal draws.
    assert!(s.starts_with(&format!("\x1b[{}X", p.width)));
    let cup = format!(
        "\x1bPtmux;\x1b\x1b[{};{}H\x1b\x1bP",
        2 + p.y + 1,
        61 + p.x + 1
    );
    assert!(
        s.contains(&cup),
        "outer cursor moved inside the passthrough"
    );
    assert!(
        s.ends_with("\x1b\x1b\\\x1b\\"),
        "sixel's ST doubled, then passthrough's"
    );
}

#[test]
fn sixel_is_fitted_inside_the_terminals_limit() {
    let mut target = RenderTarget::new(ProtocolKind::Sixel, FontSize::new(8, 17));
    target.sixel_max_px = Some((1000, 1000));
    // 200×55 in xterm: the pane is far wider than xterm's 1000 px limit.
    let r = render_bytes(
        &id_card_jpeg(),
        Size::new(190, 48),
        ViewState::fit(),
        &target,
        DecodeLimits::DEFAULT,
    )
    .expect("render");
    let (canvas, pic) = r.canvas();
    assert!(pic.2 <= 1000 && pic.3 <= 1000, "{pic:?} inside 1000×1000");
    assert!(canvas.0 <= 1000 + 8 && canvas.1 <= 1000 + 17);
    assert_eq!(r.limited(), Some((1000, 1000)), "the pane says why");
}
