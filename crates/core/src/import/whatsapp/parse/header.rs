//! The message header (`whatsapp-format.md` §1): a hand-written scanner for the superset grammar
//! of §1.1, without regular expressions. It reads the written fields; the date field order is
//! applied later ([`Header::timestamp`]) because it is decided once per file (§2).

/// Which of the header shapes of §1.1 the line has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `DATE, TIME - ` (Android).
    Android,
    /// `[DATE, TIME] ` (iOS, WhatsApp Web user lines).
    Bracket,
    /// `[DATE, TIME] - ` (WhatsApp Web system lines).
    BracketDash,
    /// `DATE, TIME: ` (iOS 2015–2017).
    Legacy,
}

/// The 12-hour marker, or the day period that stands for one (§1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meridiem {
    Am,
    Pm,
    /// German `mittags`, English `noon`: around midday.
    Noon,
    /// `at night`, German `nachts`: evening before midnight, small hours after.
    Night,
}

/// How the written year maps to the Gregorian year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    Gregorian,
    /// Thai Buddhist era (`2565 BE`).
    Buddhist,
    /// Japanese era, with the Gregorian year of its year 0 (`R4` = 2018 + 4).
    Japanese(i32),
}

/// The date as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateFields {
    /// Three numbers in written order, their digit counts, and the index of the field that is
    /// certainly the year (4 digits, > 31, or with an era), if one is.
    Numeric {
        fields: [u32; 3],
        widths: [u8; 3],
        year_at: Option<usize>,
        era: Era,
    },
    /// A month name (`28 Aug 2013`, `18 Mar`): no ambiguity; the year may be missing.
    Named {
        day: u32,
        month: u8,
        year: Option<i32>,
    },
}

/// A recognised header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub shape: Shape,
    pub date: DateFields,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub meridiem: Option<Meridiem>,
    /// Byte offset of the text after the header.
    pub rest: usize,
    /// An invisible mark came before the header (iOS writes LRM before generated texts).
    pub leading_mark: bool,
    /// The date separator (`/`, `.`, `-`), or 0 for month names.
    pub separator: u8,
    /// A comma between date and time.
    pub comma: bool,
    /// The marker is a plain ASCII `AM`/`PM` (US-style 12 h, a month-first hint).
    pub upper_ampm: bool,
    /// The time came before the date.
    pub time_first: bool,
}

/// Bidi and other invisible format marks that WhatsApp puts around headers and names (§1.6).
#[inline]
pub(crate) fn is_mark(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}')
}

/// Any Unicode space separator (`\p{Zs}`) or a tab.
#[inline]
pub(crate) fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Whether a byte may start a space or a mark beyond ASCII: they are all two or three bytes
/// long and start with one of these.
#[inline]
fn may_start_blank(b: u8) -> bool {
    matches!(b, 0xC2 | 0xD8 | 0xE1 | 0xE2 | 0xE3 | 0xEF)
}

/// Spaces and invisible marks from `*pos` in `s` (the bytes of a `&str`): all are skipped, the
/// spaces are counted. Both scanners read the blanks between a header's parts with it.
fn skip_blanks_at(s: &[u8], pos: &mut usize) -> usize {
    let mut spaces = 0;
    while let Some(&b) = s.get(*pos) {
        if b < 0x80 {
            if b != b' ' && b != b'\t' {
                break;
            }
            spaces += 1;
            *pos += 1;
            continue;
        }
        if !may_start_blank(b) {
            break;
        }
        let Some(c) = two_or_three_byte_char(s, *pos) else {
            break;
        };
        if is_space(c) {
            spaces += 1;
        } else if !is_mark(c) {
            break;
        }
        *pos += c.len_utf8();
    }
    spaces
}

/// The two- or three-byte character starting at `at` (all [`skip_blanks_at`] looks for).
fn two_or_three_byte_char(s: &[u8], at: usize) -> Option<char> {
    let len = if *s.get(at)? < 0xE0 { 2 } else { 3 };
    std::str::from_utf8(s.get(at..at + len)?)
        .ok()?
        .chars()
        .next()
}

/// Whether a clock reading is one: `24:00` is allowed (read as midnight), seconds up to 59.
#[inline]
fn clock_in_range(hour: u32, minute: u32, second: u32) -> bool {
    hour <= 24 && minute <= 59 && second <= 59
}

/// ASCII, Arabic-Indic and extended Arabic-Indic digits (§1.3).
#[inline]
fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{660}'..='\u{669}' => Some(c as u32 - 0x660),
        '\u{6F0}'..='\u{6F9}' => Some(c as u32 - 0x6F0),
        _ => None,
    }
}

/// Cheap test before the full scan: a header starts with a digit, `[`, or a mark.
pub(crate) fn may_start_header(line: &[u8]) -> bool {
    matches!(
        line.first(),
        Some(b'0'..=b'9' | b'[' | 0xE2 | 0xEF | 0xD8 | 0xD9 | 0xDB)
    )
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos..)?.chars().next()
    }

    #[inline]
    fn peek_byte(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    #[inline]
    /// Consumes one digit (ASCII or Arabic-Indic) and returns its value.
    fn peek_digit(&mut self) -> Option<u32> {
        let b = self.peek_byte()?;
        if b.is_ascii_digit() {
            self.pos += 1;
            return Some(u32::from(b - b'0'));
        }
        if b < 0x80 {
            return None;
        }
        let c = self.peek()?;
        let d = digit(c)?;
        self.pos += c.len_utf8();
        Some(d)
    }

    #[inline]
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    #[inline]
    fn eat(&mut self, c: char) -> bool {
        let Some(b) = self.peek_byte() else {
            return false;
        };
        if c.is_ascii() {
            let hit = b == c as u8;
            self.pos += usize::from(hit);
            return hit;
        }
        // A non-ASCII char never starts with an ASCII byte: skip the decoding.
        if b < 0x80 || self.peek() != Some(c) {
            return false;
        }
        self.pos += c.len_utf8();
        true
    }

    /// Case-insensitive (ASCII) literal.
    fn eat_lit(&mut self, lit: &str) -> bool {
        let rest = self.rest().as_bytes();
        match rest.get(..lit.len()) {
            Some(head) if head.eq_ignore_ascii_case(lit.as_bytes()) => {
                self.pos += lit.len();
                true
            }
            _ => false,
        }
    }

    #[inline]
    fn skip_marks(&mut self) -> bool {
        let start = self.pos;
        // Every mark is outside ASCII: most calls end here.
        if self.peek_byte().is_none_or(|b| b < 0x80) {
            return false;
        }
        while let Some(c) = self.peek() {
            if !is_mark(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        self.pos > start
    }

    #[inline]
    /// Skips spaces and marks; returns how many spaces there were.
    fn skip_blanks(&mut self) -> usize {
        skip_blanks_at(self.s.as_bytes(), &mut self.pos)
    }

    #[inline]
    /// Up to `max` digits: the value and the digit count.
    fn number(&mut self, max: u8) -> Option<(u32, u8)> {
        let mut value = 0u32;
        let mut width = 0u8;
        while width < max {
            let Some(d) = self.peek_digit() else { break };
            value = value * 10 + d;
            width += 1;
        }
        if width == 0 {
            return None;
        }
        // One digit more than the field allows means this is not a date or time field.
        if self
            .peek_byte()
            .is_some_and(|b| b.is_ascii_digit() || b >= 0x80)
            && self.peek().and_then(digit).is_some()
        {
            return None;
        }
        Some((value, width))
    }

    #[inline]
    fn at_word_end(&self) -> bool {
        self.peek().is_none_or(|c| !c.is_alphanumeric())
    }
}

mod fast;

const MONTHS: [(&str, u8); 25] = [
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sept", 9),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

fn month_name(cur: &mut Cursor<'_>) -> Option<u8> {
    for (name, month) in &MONTHS {
        let save = cur.pos;
        if cur.eat_lit(name) {
            cur.eat('.');
            if cur.at_word_end() {
                return Some(*month);
            }
        }
        cur.pos = save;
    }
    None
}

/// `DATE` of §1.1, starting at the cursor.
fn date(cur: &mut Cursor<'_>) -> Option<(DateFields, u8)> {
    let first = cur.number(4)?;
    date_after(cur, first)
}

/// [`date`] once its first field `(a, wa)` has been read.
fn date_after(cur: &mut Cursor<'_>, (a, wa): (u32, u8)) -> Option<(DateFields, u8)> {
    cur.skip_marks();
    let sep = cur.peek_byte()?;
    if !matches!(sep, b'/' | b'.' | b'-') {
        // `28 Aug 2013` / `18 Mar`
        if wa > 2 || cur.skip_blanks() == 0 {
            return None;
        }
        let month = month_name(cur)?;
        let save = cur.pos;
        let mut year = None;
        if cur.eat(',') || cur.skip_blanks() > 0 {
            cur.skip_blanks();
            match cur.number(4) {
                Some((y, 4)) => year = Some(y as i32),
                _ => cur.pos = save,
            }
        } else {
            cur.pos = save;
        }
        return Some((
            DateFields::Named {
                day: a,
                month,
                year,
            },
            0,
        ));
    }
    cur.pos += 1;
    cur.skip_blanks();
    let (b, wb) = cur.number(2)?;
    cur.skip_marks();
    if cur.peek_byte() != Some(sep) {
        return None;
    }
    cur.pos += 1;
    cur.skip_blanks();
    let mut era = Era::Gregorian;
    let (c, wc) = match cur.peek() {
        Some(letter @ ('R' | 'H' | 'S')) => {
            cur.pos += 1;
            let (n, w) = cur.number(2)?;
            era = Era::Japanese(match letter {
                'R' => 2018,
                'H' => 1988,
                _ => 1925,
            });
            (n, w)
        }
        _ => cur.number(4)?,
    };
    cur.skip_marks();
    if era == Era::Gregorian {
        let save = cur.pos;
        if cur.skip_blanks() > 0 && cur.eat_lit("BE") && cur.at_word_end() {
            era = Era::Buddhist;
        } else {
            cur.pos = save;
        }
    }
    // `13. 6. 2018.` (hr/hu) and `2022. 3. 27.` (ko) end the date with a dot.
    if sep == b'.' {
        let save = cur.pos;
        if !(cur.eat('.') && cur.peek().is_some_and(is_space)) {
            cur.pos = save;
        }
    }
    let widths = [wa, wb, wc];
    let fields = [a, b, c];
    if widths.iter().filter(|w| **w > 2).count() > 1 || wa == 3 || wc == 3 {
        return None;
    }
    let year_at = if era != Era::Gregorian || wc == 4 || c > 31 {
        Some(2)
    } else if wa == 4 || a > 31 {
        Some(0)
    } else {
        None
    };
    Some((
        DateFields::Numeric {
            fields,
            widths,
            year_at,
            era,
        },
        sep,
    ))
}

/// `TIME`: hour, minute and optional second, `:` or `.` between them.
fn clock(cur: &mut Cursor<'_>) -> Option<(u32, u32, u32)> {
    let (h, _) = cur.number(2)?;
    let sep = cur.peek_byte()?;
    if sep != b':' && sep != b'.' {
        return None;
    }
    cur.pos += 1;
    let (m, wm) = cur.number(2)?;
    if wm != 2 {
        return None;
    }
    let mut s = 0;
    let digit_follows = |cur: &Cursor<'_>| {
        cur.s
            .get(cur.pos + 1..)
            .and_then(|r| r.chars().next())
            .and_then(digit)
            .is_some()
    };
    if cur.peek_byte() == Some(sep) && digit_follows(cur) {
        cur.pos += 1;
        let (value, ws) = cur.number(2)?;
        if ws != 2 {
            return None;
        }
        s = value;
    }
    Some((h, m, s))
}

/// The 12-hour marker after the time, if any (§1.4). Leaves the cursor unmoved when there is
/// none.
fn meridiem(cur: &mut Cursor<'_>) -> (Option<Meridiem>, bool) {
    let save = cur.pos;
    cur.skip_blanks();
    let start = cur.pos;
    // What follows a time without a marker: ` - `, `]`, `:`, `,`, a digit (time-first dates).
    if cur
        .peek_byte()
        .is_none_or(|b| matches!(b, b'-' | b']' | b':' | b',' | b'0'..=b'9'))
    {
        cur.pos = save;
        return (None, false);
    }
    // a.m. / a. m. / am / AM, and p…
    if let Some(first @ (b'a' | b'A' | b'p' | b'P')) = cur.peek_byte() {
        cur.pos += 1;
        cur.eat('.');
        cur.skip_blanks();
        if matches!(cur.peek_byte(), Some(b'm' | b'M')) {
            cur.pos += 1;
            cur.eat('.');
            if cur.at_word_end() {
                let written = cur.s.get(start..cur.pos).unwrap_or_default();
                let upper = written == "AM" || written == "PM";
                let m = if first.eq_ignore_ascii_case(&b'a') {
                    Meridiem::Am
                } else {
                    Meridiem::Pm
                };
                return (Some(m), upper);
            }
        }
        cur.pos = start;
    }
    const WORDS: [(&str, Meridiem); 22] = [
        ("in the morning", Meridiem::Am),
        ("in the afternoon", Meridiem::Pm),
        ("in the evening", Meridiem::Pm),
        ("at night", Meridiem::Night),
        ("noon", Meridiem::Noon),
        ("midday", Meridiem::Noon),
        ("morgens", Meridiem::Am),
        ("vormittags", Meridiem::Am),
        ("vorm.", Meridiem::Am),
        ("mittags", Meridiem::Noon),
        ("nachmittags", Meridiem::Pm),
        ("nachm.", Meridiem::Pm),
        ("abends", Meridiem::Pm),
        ("nachts", Meridiem::Night),
        ("ص", Meridiem::Am),
        ("م", Meridiem::Pm),
        ("午前", Meridiem::Am),
        ("午後", Meridiem::Pm),
        ("上午", Meridiem::Am),
        ("下午", Meridiem::Pm),
        ("오전", Meridiem::Am),
        ("오후", Meridiem::Pm),
    ];
    let first = cur.peek_byte().map(|b| b.to_ascii_lowercase());
    for (word, m) in &WORDS {
        if word.as_bytes().first().copied() != first {
            continue;
        }
        if cur.eat_lit(word) && (word.ends_with('.') || cur.at_word_end() || !word.is_ascii()) {
            return (Some(*m), false);
        }
        cur.pos = start;
    }
    cur.pos = save;
    (None, false)
}

/// `DT_SEP`: `, `, ` `, `، `, ` klo `, ` à `.
fn date_time_separator(cur: &mut Cursor<'_>) -> Option<bool> {
    cur.skip_marks();
    let comma = cur.eat(',') || cur.eat('\u{060C}');
    let spaces = cur.skip_blanks();
    if spaces > 0 {
        let save = cur.pos;
        if (cur.eat_lit("klo") || cur.eat('à')) && cur.skip_blanks() > 0 {
            return Some(comma);
        }
        cur.pos = save;
    }
    (comma || spaces > 0).then_some(comma)
}

/// Recognises a header at the start of `line`. `None` when the line is not one. The parser reads
/// through a [`Reader`], which answers the same; tests ask line by line.
#[cfg(test)]
pub(crate) fn header(line: &str) -> Option<Header> {
    if !may_start_header(line.as_bytes()) {
        return None;
    }
    if let Some(found) = fast::header(line.as_bytes()) {
        return Some(found);
    }
    general(line)
}

/// [`header`] for the lines of one file, in order: it remembers the layouts of the headers
/// read so far ([`fast::Layouts`]), and most headers of an export share a few.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    layouts: fast::Layouts,
}

impl Reader {
    /// The header at the start of `line`: the same answer as [`header`].
    pub(crate) fn header(&mut self, line: &str) -> Option<Header> {
        if !may_start_header(line.as_bytes()) {
            return None;
        }
        if let Some(found) = self.layouts.header(line.as_bytes()) {
            return Some(found);
        }
        general(line)
    }
}

/// The full scanner of §1.1, for every line [`fast::header`] does not settle.
fn general(line: &str) -> Option<Header> {
    let mut cur = Cursor { s: line, pos: 0 };
    let leading_mark = cur.skip_marks();
    let bracket = cur.eat('[');
    cur.skip_marks();
    // The first number, read once: a `:` after it means the time comes first (I12, A20).
    let start = cur.pos;
    let first = cur.number(4)?;
    let time_first = cur.peek_byte() == Some(b':');
    if time_first {
        cur.pos = start;
    }
    let (date, separator, comma, (hour, minute, second), (marker, upper_ampm)) = if time_first {
        let t = clock(&mut cur)?;
        let m = meridiem(&mut cur);
        date_time_separator(&mut cur)?;
        let (date, separator) = self::date(&mut cur)?;
        (date, separator, true, t, m)
    } else {
        let (date, separator) = date_after(&mut cur, first)?;
        let comma = date_time_separator(&mut cur)?;
        // East Asian markers come before the time (§1.4).
        let before = meridiem(&mut cur);
        if before.0.is_some() {
            cur.skip_blanks();
        }
        let t = clock(&mut cur)?;
        let after = meridiem(&mut cur);
        (
            date,
            separator,
            comma,
            t,
            if after.0.is_some() { after } else { before },
        )
    };
    cur.skip_marks();
    let shape = if bracket {
        cur.skip_blanks();
        if !cur.eat(']') {
            return None;
        }
        let save = cur.pos;
        if cur.skip_blanks() > 0 && cur.eat('-') && (cur.peek().is_none() || cur.skip_blanks() > 0)
        {
            Shape::BracketDash
        } else {
            cur.pos = save;
            if cur.peek().is_some_and(is_space) {
                cur.pos += cur.peek().map_or(0, char::len_utf8);
            }
            Shape::Bracket
        }
    } else {
        // `2022/12/14, 13:34. - Kim: hi` (A19)
        let save = cur.pos;
        if !(cur.eat('.') && cur.peek().is_some_and(is_space)) {
            cur.pos = save;
        }
        if cur.eat(':') {
            if cur.peek().is_some() && cur.skip_blanks() == 0 {
                return None;
            }
            Shape::Legacy
        } else {
            if cur.skip_blanks() == 0 || !cur.eat('-') {
                return None;
            }
            if cur.peek().is_some() && cur.skip_blanks() == 0 {
                return None;
            }
            Shape::Android
        }
    };
    if !clock_in_range(hour, minute, second) {
        return None;
    }
    Some(Header {
        shape,
        date,
        hour,
        minute,
        second,
        meridiem: marker,
        rest: cur.pos,
        leading_mark,
        separator,
        comma,
        upper_ampm,
        time_first,
    })
}
