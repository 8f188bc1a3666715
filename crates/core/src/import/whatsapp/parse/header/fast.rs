//! The fast path of the header scanner: the plain ASCII headers almost every export is made of
//! (`12/03/2023, 14:05 - `, `[3/12/23, 2:05:09 PM] `, `2023-03-12, 14:05: `), read byte by
//! byte without decoding characters.
//!
//! It only ever says yes: anything outside that narrow grammar (marks, non-ASCII spaces or
//! digits, month names, eras, dotted times, `a.m.`, a dash after the bracket, an out-of-range
//! field…) returns `None` and the line goes to the full scanner, which decides. Where it says
//! yes, it returns exactly what the full scanner returns for the line (a test compares the two
//! on every fixture line and on generated variants).

use super::{DateFields, Era, Header, Meridiem, Shape};

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
        if self
            .peek()
            .is_some_and(|b| matches!(b, 0xC2 | 0xD8 | 0xE1 | 0xE2 | 0xE3 | 0xEF))
        {
            return None;
        }
        Some(self.pos - start)
    }
}

/// The header at the start of `line` when it is a plain ASCII one; `None` otherwise (not
/// "not a header": see the module doc).
pub(super) fn header(line: &[u8]) -> Option<Header> {
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
        match cur.peek() {
            Some(b' ' | b'\t') => {
                // `] - ` (WhatsApp Web system lines): the full scanner.
                let after = cur.pos;
                cur.blanks()?;
                if cur.peek() == Some(b'-') {
                    return None;
                }
                cur.pos = after + 1;
            }
            Some(0x80..) => return None,
            _ => {}
        }
        Shape::Bracket
    } else if cur.eat(b':') {
        if cur.peek().is_some() && cur.blanks()? == 0 {
            return None;
        }
        Shape::Legacy
    } else {
        if cur.blanks()? == 0 || !cur.eat(b'-') {
            return None;
        }
        if cur.peek().is_some() && cur.blanks()? == 0 {
            return None;
        }
        Shape::Android
    };
    if hour > 24 || minute > 59 || second > 59 {
        return None;
    }
    let widths = [wa, wb, wc];
    if widths.iter().filter(|w| **w > 2).count() > 1 || wa == 3 || wc == 3 {
        return None;
    }
    let year_at = if wc == 4 || c > 31 {
        Some(2)
    } else if wa == 4 || a > 31 {
        Some(0)
    } else {
        None
    };
    Some(Header {
        shape,
        date: DateFields::Numeric {
            fields: [a, b, c],
            widths,
            year_at,
            era: Era::Gregorian,
        },
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
    })
}
