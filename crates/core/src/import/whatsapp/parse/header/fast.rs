//! The fast path of the header scanner: the plain ASCII headers almost every export is made of
//! (`12/03/2023, 14:05 - `, `[3/12/23, 2:05:09 PM] `, `2023-03-12, 14:05: `), read byte by
//! byte without decoding characters.
//!
//! It only ever says yes: anything outside that narrow grammar (marks or non-ASCII spaces
//! before the last separator, non-ASCII digits, month names, eras, dotted times, `a.m.`, a
//! dash after the bracket, an out-of-range field…) returns `None` and the line goes to the full
//! scanner, which decides. Where it says
//! yes, it returns exactly what the full scanner returns for the line (a test compares the two
//! on every fixture line and on generated variants).

use super::{
    DateFields, Era, Header, Meridiem, Shape, clock_in_range, may_start_blank, skip_blanks_at,
};

#[cfg(test)]
mod tests;

struct Bytes<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    /// 1..=`max` ASCII digits, not followed by another digit or by a non-ASCII byte (which
    /// could be an Arabic-Indic digit: the full scanner decides those).
    #[inline]
    fn number(&mut self, max: u8) -> Option<(u32, u8)> {
        let mut value = 0u32;
        let mut width = 0u8;
        while width < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(b - b'0');
                    width += 1;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        if width == 0 || self.peek().is_some_and(|b| b.is_ascii_digit() || b >= 0x80) {
            return None;
        }
        Some((value, width))
    }

    /// ASCII spaces and tabs; `None` if what follows them may be a mark or a non-ASCII space
    /// (the full scanner's business). Those all start with one of six lead bytes (U+00A0,
    /// U+061C, U+1680, U+2000–U+206F, U+3000, U+FEFF); any other character (`É`, `李`, an
    /// emoji) certainly ends the blanks.
    #[inline]
    fn blanks(&mut self) -> Option<usize> {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        if self.peek().is_some_and(may_start_blank) {
            return None;
        }
        Some(self.pos - start)
    }

    /// Spaces and invisible marks after the header's last separator (`- \u{202A}+39 333 123
    /// 4567\u{202C}: hi`, a phone number wrapped in marks), read as the full scanner reads
    /// them: all are skipped, the spaces are counted.
    fn blanks_and_marks(&mut self) -> usize {
        skip_blanks_at(self.s, &mut self.pos)
    }
}

/// The header at the start of `line` when it is a plain ASCII one; `None` otherwise (not
/// "not a header": see the module doc). The parser goes through [`Layouts`].
#[cfg(test)]
pub(super) fn header(line: &[u8]) -> Option<Header> {
    scan(line).map(|(header, _)| header)
}

/// [`header`], and where the header's last separator (`-`, `]` or `:`) ends: what a
/// [`Layout`] is made of.
fn scan(line: &[u8]) -> Option<(Header, usize)> {
    let mut cur = Bytes { s: line, pos: 0 };
    let bracket = cur.eat(b'[');
    let (a, wa) = cur.number(4)?;
    let separator = cur.peek()?;
    if !matches!(separator, b'/' | b'.' | b'-') {
        return None;
    }
    cur.pos += 1;
    let (b, wb) = cur.number(2)?;
    if !cur.eat(separator) {
        return None;
    }
    let (c, wc) = cur.number(4)?;
    // `13. 6. 2018.` and other dotted endings, `2565 BE`: the full scanner.
    if separator == b'.' && cur.peek() == Some(b'.') {
        return None;
    }
    let comma = cur.eat(b',');
    let spaces = cur.blanks()?;
    if !comma && spaces == 0 {
        return None;
    }
    // The hour must follow (not `klo`, `à`, `BE` or a day period before the time).
    if !cur.peek().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hour, _) = cur.number(2)?;
    if !cur.eat(b':') {
        return None;
    }
    let (minute, wm) = cur.number(2)?;
    if wm != 2 {
        return None;
    }
    let mut second = 0;
    // `:` and a non-ASCII byte: perhaps Arabic-Indic seconds.
    if cur.peek() == Some(b':') && line.get(cur.pos + 1).is_some_and(|b| *b >= 0x80) {
        return None;
    }
    if cur.peek() == Some(b':') && line.get(cur.pos + 1).is_some_and(u8::is_ascii_digit) {
        cur.pos += 1;
        let (value, ws) = cur.number(2)?;
        if ws != 2 {
            return None;
        }
        second = value;
    }
    // `AM`/`PM` in any case, right after the blanks and ending the word.
    let save = cur.pos;
    let mut meridiem = None;
    let mut upper_ampm = false;
    if cur.blanks()? > 0 {
        let first = cur.peek().unwrap_or(0);
        let second_letter = line.get(cur.pos + 1).copied().unwrap_or(0);
        let after = line.get(cur.pos + 2).copied();
        if matches!(first, b'a' | b'A' | b'p' | b'P') {
            if !matches!(second_letter, b'm' | b'M')
                || after.is_some_and(|b| b.is_ascii_alphanumeric() || b >= 0x80 || b == b'.')
            {
                return None;
            }
            meridiem = Some(if first.eq_ignore_ascii_case(&b'a') {
                Meridiem::Am
            } else {
                Meridiem::Pm
            });
            upper_ampm = first.is_ascii_uppercase() && second_letter == b'M';
            cur.pos += 2;
        } else if !cur
            .peek()
            .is_none_or(|b| matches!(b, b'-' | b']' | b':' | b','))
        {
            return None;
        } else {
            cur.pos = save;
        }
    }
    let shape = if bracket {
        cur.blanks()?;
        if !cur.eat(b']') {
            return None;
        }
        Shape::Bracket
    } else if cur.eat(b':') {
        Shape::Legacy
    } else {
        if cur.blanks()? == 0 || !cur.eat(b'-') {
            return None;
        }
        Shape::Android
    };
    let end = cur.pos;
    after_separator(&mut cur, shape)?;
    let date = numeric_date([a, b, c], [wa, wb, wc])?;
    if !clock_in_range(hour, minute, second) {
        return None;
    }
    let found = Header {
        shape,
        date,
        hour,
        minute,
        second,
        meridiem,
        rest: cur.pos,
        leading_mark: false,
        separator,
        comma,
        upper_ampm,
        time_first: false,
    };
    Some((found, end))
}

/// What follows the header's last separator, up to the text (`rest`); `None` where the full
/// scanner must decide.
#[inline]
fn after_separator(cur: &mut Bytes<'_>, shape: Shape) -> Option<()> {
    // Most headers: one space, then an ASCII letter or digit (or nothing): what the loops
    // below find too.
    if cur.peek() == Some(b' ')
        && cur
            .s
            .get(cur.pos + 1)
            .is_none_or(|b| b.is_ascii_alphanumeric())
    {
        cur.pos += 1;
        return Some(());
    }
    if shape == Shape::Bracket {
        match cur.peek() {
            Some(b' ' | b'\t') => {
                // `] - ` (WhatsApp Web system lines): the full scanner.
                let after = cur.pos;
                cur.blanks_and_marks();
                if cur.peek() == Some(b'-') {
                    return None;
                }
                cur.pos = after + 1;
            }
            Some(0x80..) => return None,
            _ => {}
        }
    } else if cur.peek().is_some() && cur.blanks_and_marks() == 0 {
        return None;
    }
    Some(())
}

/// Three written numbers as a date: at most one longer than two digits, none of three; the
/// year's place when a field says it (4 digits or above 31).
fn numeric_date([a, b, c]: [u32; 3], widths: [u8; 3]) -> Option<DateFields> {
    let [wa, _, wc] = widths;
    if widths.iter().filter(|w| **w > 2).count() > 1 || wa == 3 || wc == 3 {
        return None;
    }
    Some(DateFields::Numeric {
        fields: [a, b, c],
        widths,
        year_at: year_place([a, c], [wa, wc]),
        era: Era::Gregorian,
    })
}

/// Which field is certainly the year, from the first and last fields and their widths: 4
/// digits or above 31 (the last field first).
fn year_place([a, c]: [u32; 2], [wa, wc]: [u8; 2]) -> Option<usize> {
    if wc == 4 || c > 31 {
        Some(2)
    } else if wa == 4 || a > 31 {
        Some(0)
    } else {
        None
    }
}

/// The most layouts a [`Layouts`] keeps (an export with one-digit and two-digit days, months
/// and hours has up to eight).
const LAYOUTS_KEPT: usize = 8;

/// The longest header prefix a [`Layout`] holds, in bytes and in 8-byte words.
const LAYOUT_BYTES: usize = 40;
const LAYOUT_WORDS: usize = LAYOUT_BYTES / 8;

/// Byte classes while a [`Layout`] is learnt; any other value is a literal byte (the prefix is
/// printable ASCII).
const DIGIT: u8 = 0;
const MARKER: u8 = 1;

/// The shape of a header the fast path read, up to its last separator: which bytes are digits,
/// which is the `A`/`P` of the 12-hour marker, and the literal bytes between them. Most lines of
/// an export share a few layouts; a line of a known layout is read by comparing its bytes and
/// taking the numbers at fixed places, and gives exactly what [`header`] gives (or `None`: the
/// fast path then decides).
#[derive(Debug, Clone)]
struct Layout {
    len: usize,
    /// The classes as 8-byte words, compared a word at a time: the literal bytes and where they
    /// are, and where the digits are (the marker's letter is in neither: checked apart).
    literal: [u64; LAYOUT_WORDS],
    literal_mask: [u64; LAYOUT_WORDS],
    digit_mask: [u64; LAYOUT_WORDS],
    /// Start and width of the day/month/year fields, the hour, the minute and the second
    /// (width 0: no seconds).
    numbers: [(usize, usize); 6],
    /// The widths of the three date fields.
    widths: [u8; 3],
    /// Where the marker's `A`/`P` is, and whether it is upper case.
    marker: Option<(usize, bool)>,
    /// The header the layout was learnt from: its shape, separator, comma and marker case.
    template: Header,
}

impl Layout {
    /// The layout of `line`, whose header [`scan`] read as `found`, its last separator ending
    /// at `end`.
    fn learn(line: &[u8], found: &Header, end: usize) -> Option<Self> {
        let head = line.get(..end)?;
        if head.len() > LAYOUT_BYTES {
            return None;
        }
        let mut classes = [0u8; LAYOUT_BYTES];
        let mut numbers = [(0usize, 0usize); 6];
        let mut runs = 0;
        let mut marker = None;
        let mut at = 0;
        while let Some(&b) = head.get(at) {
            if b.is_ascii_digit() {
                let width = head
                    .get(at..)?
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                *numbers.get_mut(runs)? = (at, width);
                runs += 1;
                for class in classes.get_mut(at..at + width)? {
                    *class = DIGIT;
                }
                at += width;
                continue;
            }
            *classes.get_mut(at)? = match b {
                b'A' | b'P' | b'a' | b'p' if found.meridiem.is_some() && marker.is_none() => {
                    marker = Some((at, b.is_ascii_uppercase()));
                    MARKER
                }
                0x20..=0x7E => b,
                _ => return None,
            };
            at += 1;
        }
        // Day, month, year, hour, minute, and perhaps the second.
        if !(runs == 5 && found.second == 0 || runs == 6) {
            return None;
        }
        if found.meridiem.is_some() != marker.is_some() {
            return None;
        }
        let mut literal = [0u64; LAYOUT_WORDS];
        let mut literal_mask = [0u64; LAYOUT_WORDS];
        let mut digit_mask = [0u64; LAYOUT_WORDS];
        for (at, class) in classes.iter().enumerate().take(end) {
            let (word, shift) = (at / 8, (at % 8) * 8);
            match *class {
                DIGIT => *digit_mask.get_mut(word)? |= 0xFF << shift,
                MARKER => {}
                byte => {
                    *literal.get_mut(word)? |= u64::from(byte) << shift;
                    *literal_mask.get_mut(word)? |= 0xFF << shift;
                }
            }
        }
        let width = |(_, width): (usize, usize)| u8::try_from(width).ok();
        let [day_or_month, month_or_day, year, ..] = numbers;
        let widths = [width(day_or_month)?, width(month_or_day)?, width(year)?];
        // The widths the fast path accepted (see `read`).
        let DateFields::Numeric { widths: read, .. } = found.date else {
            return None;
        };
        if read != widths {
            return None;
        }
        Some(Self {
            widths,
            len: end,
            literal,
            literal_mask,
            digit_mask,
            numbers,
            marker,
            template: *found,
        })
    }

    /// The header of `line` if it has this layout (see [`Layout`]).
    fn read(&self, line: &[u8]) -> Option<Header> {
        let head = line.get(..self.len)?;
        // A word at a time: the literal bytes equal, the digit places hold `0`–`9` (high
        // nibble 3, and still 3 after adding 6). A byte above `9` could carry into the next
        // byte's sum, but it fails its own check first.
        const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
        const THREES: u64 = 0x3030_3030_3030_3030;
        const SIXES: u64 = 0x0606_0606_0606_0606;
        for word in 0..self.len.div_ceil(8) {
            // Eight bytes of the line, even past the prefix (the masks ignore them, and a
            // carry only runs towards later bytes); padded only where the line ends.
            let at = word * 8;
            let x = match line
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
            {
                Some(bytes) => u64::from_le_bytes(bytes),
                None => {
                    let mut padded = [0u8; 8];
                    let bytes = line.get(at..).unwrap_or_default();
                    padded
                        .get_mut(..bytes.len())
                        .unwrap_or_default()
                        .copy_from_slice(bytes);
                    u64::from_le_bytes(padded)
                }
            };
            let (literal, literal_mask, digits) = (
                *self.literal.get(word)?,
                *self.literal_mask.get(word)?,
                *self.digit_mask.get(word)?,
            );
            if (x ^ literal) & literal_mask != 0
                || x & HIGH & digits != THREES & digits
                || x.wrapping_add(SIXES) & HIGH & digits != THREES & digits
            {
                return None;
            }
        }
        if let Some((at, upper)) = self.marker {
            let same = match head.get(at) {
                Some(b'A' | b'P') => upper,
                Some(b'a' | b'p') => !upper,
                _ => false,
            };
            if !same {
                return None;
            }
        }
        let value = |number| layout_number(head, number);
        // As in [`scan`]: a `:` and a non-ASCII byte after the minute may be Arabic-Indic
        // seconds.
        let [.., (minute_at, minute_width), (_, second_width)] = self.numbers;
        if second_width == 0
            && head.get(minute_at + minute_width) == Some(&b':')
            && line
                .get(minute_at + minute_width + 1)
                .is_some_and(|b| *b >= 0x80)
        {
            return None;
        }
        let [na, nb, nc, nh, nm, ns] = self.numbers;
        let (a, b, c) = (value(na), value(nb), value(nc));
        let (hour, minute, second) = (value(nh), value(nm), value(ns));
        let mut cur = Bytes {
            s: line,
            pos: self.len,
        };
        after_separator(&mut cur, self.template.shape)?;
        // The widths passed `numeric_date` when the layout was learnt; only the year's place
        // depends on the values.
        let [wa, _, wc] = self.widths;
        let date = DateFields::Numeric {
            fields: [a, b, c],
            widths: self.widths,
            year_at: year_place([a, c], [wa, wc]),
            era: Era::Gregorian,
        };
        if !clock_in_range(hour, minute, second) {
            return None;
        }
        let meridiem = match self.marker.and_then(|(at, _)| head.get(at)) {
            Some(b'A' | b'a') => Some(Meridiem::Am),
            Some(_) => Some(Meridiem::Pm),
            None => None,
        };
        Some(Header {
            date,
            hour,
            minute,
            second,
            meridiem,
            rest: cur.pos,
            ..self.template
        })
    }
}

/// The number at `at`, `width` digits long, in a head a [`Layout`] checked: the widths are 1, 2
/// or 4 (`numeric_date` refuses a three-digit first or last field, and the others have at most
/// two; 0 for no seconds), and every place is inside `head` (the default is never taken).
#[inline(always)]
fn layout_number(head: &[u8], (at, width): (usize, usize)) -> u32 {
    let digit = |at: usize| head.get(at).map_or(0, |b| u32::from(b.wrapping_sub(b'0')));
    match width {
        1 => digit(at),
        2 => digit(at) * 10 + digit(at + 1),
        4 => digit(at) * 1000 + digit(at + 1) * 100 + digit(at + 2) * 10 + digit(at + 3),
        _ => 0,
    }
}

/// The layouts of the headers read so far (see [`Layout`]), the latest learnt first.
#[derive(Debug, Default)]
pub(crate) struct Layouts {
    known: Vec<Layout>,
    /// The layout that read (or was learnt from) the last header the fast path read: tried
    /// first, as consecutive messages mostly share a date and so a layout. A layout answers
    /// exactly as the fast path does or not at all, so the order they are tried in does not
    /// change the answer.
    last: usize,
}

impl Layouts {
    /// [`header`], through the known layouts first; a header the fast path reads adds its
    /// layout.
    pub(super) fn header(&mut self, line: &[u8]) -> Option<Header> {
        if let Some(found) = self
            .known
            .get(self.last)
            .and_then(|layout| layout.read(line))
        {
            return Some(found);
        }
        let last = self.last;
        if let Some((at, found)) = self
            .known
            .iter()
            .enumerate()
            .filter(|&(at, _)| at != last)
            .find_map(|(at, layout)| Some((at, layout.read(line)?)))
        {
            self.last = at;
            return Some(found);
        }
        let (found, end) = scan(line)?;
        if let Some(layout) = Layout::learn(line, &found, end) {
            if self.known.len() >= LAYOUTS_KEPT {
                self.known.pop();
            }
            self.known.insert(0, layout);
            self.last = 0;
        }
        Some(found)
    }
}
