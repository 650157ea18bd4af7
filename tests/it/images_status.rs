//! The status bar's image note: the protocol in use and why, and, when
//! asked (`show_bytes` in the config or the command of that name), the
//! bytes each navigation step sent to the terminal, counted at the writer.

use std::io::Write;

use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use shenhe::api::dto::ImageDto;
use shenhe::app::action::Action;
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction};
use shenhe::app::state::{State, ZoomView};
use shenhe::app::update;
use shenhe::config::ThemeName;
use shenhe::images::bandwidth::StepBytes;
use shenhe::images::{ByteMeter, CountingWriter};
use shenhe::lang::Lang;
use shenhe::ui::{self, ImagePainter, Theme};

/// A painter that reports what the live one would: its protocol note, and
/// the step bytes it measured through a counting writer.
struct Noting {
    steps: StepBytes,
    meter: ByteMeter,
    asked: Option<bool>,
}

impl ImagePainter for Noting {
    fn paint(
        &mut self,
        _f: &mut Frame,
        _area: Rect,
        image: &ImageDto,
        _view: Option<ZoomView>,
        _hidden: bool,
        _theme: &Theme,
    ) {
        self.steps.shows(&image.sha256, self.meter.total());
    }

    fn status_note(&self, lang: Lang, bytes: bool) -> Option<String> {
        let mut s = match lang {
            Lang::Zh => "图像 半块字符 (终端未报告像素尺寸)".to_string(),
            Lang::En => "images: half-blocks (no pixel size reported)".to_string(),
        };
        if bytes {
            s = format!("{} · {s}", self.steps.describe(lang == Lang::En));
        }
        Some(s)
    }
}

fn status_row(s: &State, p: &mut Noting) -> String {
    let mut term = Terminal::new(TestBackend::new(s.size.0, s.size.1)).expect("term");
    let theme = Theme::new(ThemeName::Auto, false);
    term.draw(|f| ui::draw(f, s, &theme, p)).expect("draw");
    p.asked = Some(s.show_bytes);
    let buf = term.backend().buffer().clone();
    let y = buf.area.height - 2;
    let mut out = String::new();
    let mut skip = 0;
    for x in 0..buf.area.width {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let sym = buf[(x, y)].symbol();
        out.push_str(sym);
        skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
    }
    out
}

fn opened(lang: Lang) -> State {
    let mut s = fx::state(lang, 160, 40);
    update(&mut s, Action::Key(KeyAction::Command(Command::Open)));
    let req = s.cand.as_ref().and_then(|c| c.loading).expect("loading");
    update(
        &mut s,
        Action::DetailDone {
            req,
            id: 1,
            result: Ok(Box::new(fx::detail())),
        },
    );
    s
}

#[test]
fn step_bytes_are_what_the_writer_counted() {
    let meter = ByteMeter::new();
    let mut w = CountingWriter::new(Vec::new(), meter.clone());
    let mut steps = StepBytes::default();
    steps.shows("a", meter.total());
    w.write_all(&[0; 1000]).expect("write");
    // The same image again (a redraw) is the same step.
    steps.shows("a", meter.total());
    w.write_all(&[0; 24]).expect("write");
    steps.shows("b", meter.total());
    assert_eq!(steps.last(), Some(1024));
    w.write_all(&[0; 2048]).expect("write");
    steps.shows("c", meter.total());
    assert_eq!(steps.last(), Some(2048));
    assert_eq!(steps.mean(), Some(1536));
    assert_eq!(steps.describe(false), "上一步 2.0 KB · 平均 1.5 KB/步");
    assert_eq!(steps.describe(true), "last step 2.0 KB · mean 1.5 KB/step");
    assert_eq!(StepBytes::default().describe(false), "每步字节：尚无");
}

#[test]
fn the_status_bar_names_the_protocol_and_bytes_when_asked() {
    for lang in [Lang::Zh, Lang::En] {
        let mut s = opened(lang);
        let mut p = Noting {
            steps: StepBytes::default(),
            meter: ByteMeter::new(),
            asked: None,
        };
        let row = status_row(&s, &mut p);
        assert!(
            row.contains("半块字符 (终端未报告像素尺寸)") || row.contains("half-blocks (no pixel"),
            "{row}"
        );
        assert!(!row.contains("KB") && !row.contains("none yet") && !row.contains("尚无"));
        assert_eq!(p.asked, Some(false));

        // Asked for by name in the palette; asking again turns it off.
        update(&mut s, Action::Key(KeyAction::Command(Command::Palette)));
        for c in "show_bytes".chars() {
            update(&mut s, Action::Key(KeyAction::Char(c)));
        }
        update(&mut s, Action::Key(KeyAction::Submit));
        assert!(s.show_bytes);
        let row = status_row(&s, &mut p);
        assert!(row.contains("尚无") || row.contains("none yet"), "{row}");
        // A step: the next image, with 3 KB on the wire meanwhile.
        p.meter.add(3 * 1024);
        update(&mut s, Action::Key(KeyAction::Command(Command::NextImage)));
        let _ = status_row(&s, &mut p);
        let row = status_row(&s, &mut p);
        assert!(
            row.contains("上一步 3.0 KB") || row.contains("last step 3.0 KB"),
            "{row}"
        );
        update(&mut s, Action::Key(KeyAction::Command(Command::ShowBytes)));
        assert!(!s.show_bytes);
    }
}

#[test]
fn the_config_turns_bytes_on_from_the_start() {
    let (cfg, err) = shenhe::config::from_str("show_bytes = true\n", "config.toml");
    assert!(err.is_none(), "{err:?}");
    assert!(cfg.show_bytes);
    assert!(!shenhe::config::defaults().show_bytes);
}
