//! A recognised header's local timestamp under the file's date field order (§1.3, §1.4, §2):
//! year position, two-digit and era years, 12-hour conversion, calendar validation.

use time::{Date, Month, PrimitiveDateTime, Time};

use super::super::model::DateOrder;
use super::header::{DateFields, Era, Header, Meridiem};

/// Where the year is when the line itself does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    Dmy,
    Mdy,
    Ymd,
}

impl Header {
    /// The two fields that are day or month when the year is last (`None` for year-first or
    /// named dates).
    pub(crate) fn day_month_candidates(&self) -> Option<(u32, u32)> {
        match self.date {
            DateFields::Numeric {
                fields: [a, b, _],
                year_at,
                ..
            } if year_at != Some(0) => Some((a, b)),
            _ => None,
        }
    }

    /// The line is year-first by itself (`2023/5/4`).
    pub(crate) fn year_first(&self) -> bool {
        matches!(
            self.date,
            DateFields::Numeric {
                year_at: Some(0),
                ..
            }
        )
    }

    /// The local timestamp under the file's field order. `per_line` resolves each line by its
    /// own fields > 12 first (a file found inconsistent, §2.2). `default_year` serves dates
    /// written without a year (A21). `None` when the date or time is impossible.
    pub(crate) fn timestamp(
        &self,
        order: DateOrder,
        per_line: bool,
        default_year: i32,
    ) -> Option<PrimitiveDateTime> {
        let reading = match order {
            DateOrder::DayMonthYear => Reading::Dmy,
            DateOrder::MonthDayYear => Reading::Mdy,
            DateOrder::YearMonthDay => Reading::Ymd,
        };
        self.timestamp_as(reading, per_line, default_year)
    }

    /// Days since year 0 under a reading, for ordering comparisons in detection (months
    /// counted as 31 days: enough to order dates, cheaper than a calendar); `None` for an
    /// impossible date.
    pub(crate) fn days_as(&self, reading: Reading) -> Option<i64> {
        let (year, month, day) = self.ymd(reading, false, 2000);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days_in_month {
            return None;
        }
        Some(i64::from(year) * 372 + i64::from(month) * 31 + i64::from(day))
    }

    /// Minutes since midnight, with [`Header::days_as`] for ordering comparisons.
    pub(crate) fn minute_of_day(&self) -> i64 {
        i64::from(self.hour24()) * 60 + i64::from(self.minute)
    }

    /// The hour on a 24-hour clock (§1.4, lenient: `23:59 PM` is 23, `00:04 AM` is 0).
    fn hour24(&self) -> u32 {
        let hour = match self.meridiem {
            None => self.hour,
            Some(Meridiem::Am) => {
                if self.hour == 12 {
                    0
                } else {
                    self.hour
                }
            }
            Some(Meridiem::Pm) => {
                if self.hour < 12 {
                    self.hour + 12
                } else {
                    self.hour
                }
            }
            Some(Meridiem::Noon) => {
                if (1..11).contains(&self.hour) {
                    self.hour + 12
                } else {
                    self.hour
                }
            }
            Some(Meridiem::Night) => match self.hour {
                12 => 0,
                6..=11 => self.hour + 12,
                h => h,
            },
        };
        // `24:00` happens in hand-made files; read it as midnight of the same day.
        if hour == 24 { 0 } else { hour }
    }

    /// Year, month and day under a reading.
    fn ymd(&self, reading: Reading, per_line: bool, default_year: i32) -> (i32, u32, u32) {
        match self.date {
            DateFields::Named { day, month, year } => {
                (year.unwrap_or(default_year), u32::from(month), day)
            }
            DateFields::Numeric {
                fields: [a, b, c],
                widths,
                year_at,
                era,
            } => {
                let year_first = match year_at {
                    Some(at) => at == 0,
                    None => reading == Reading::Ymd,
                };
                let [a_width, _, c_width] = widths;
                let (y, y_width, m, d) = if year_first {
                    (a, a_width, b, c)
                } else {
                    let reading = if per_line && a > 12 {
                        Reading::Dmy
                    } else if per_line && b > 12 {
                        Reading::Mdy
                    } else {
                        reading
                    };
                    match reading {
                        Reading::Mdy => (c, c_width, a, b),
                        _ => (c, c_width, b, a),
                    }
                };
                let y = y as i32;
                let year = match era {
                    Era::Buddhist => y - 543,
                    Era::Japanese(base) => base + y,
                    Era::Gregorian if y_width <= 2 => 2000 + y,
                    Era::Gregorian => y,
                };
                (year, m, d)
            }
        }
    }

    pub(crate) fn timestamp_as(
        &self,
        reading: Reading,
        per_line: bool,
        default_year: i32,
    ) -> Option<PrimitiveDateTime> {
        let (year, month, day) = self.ymd(reading, per_line, default_year);
        let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
        let date = Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
        let hour = self.hour24();
        let time = Time::from_hms(
            u8::try_from(hour).ok()?,
            u8::try_from(self.minute).ok()?,
            u8::try_from(self.second).ok()?,
        )
        .ok()?;
        Some(PrimitiveDateTime::new(date, time))
    }
}
