//! The maintenance window, the seeds' "time of least activity": `"window": {"days": "Mon-Fri",
//! "from": "22:00", "to": "06:00", "tz": "Europe/Berlin"}` on a batch or a course run. Outside
//! it a run starts no new course or video (those in flight finish) and goes on at the next
//! opening, on a workflow timer. The local times are read with the tz database bundled in the
//! build, never the host's, and from workflow time: every worker and every replay agree.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};

/// As a workflow's input takes it. A window runs from `from` on each of its `days` until `to`,
/// the same day or (when `to` is not after `from`) the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// `Mon-Fri`, `Sat,Sun`, `Mon-Wed,Fri`; `*` (the default) for every day.
    #[serde(default = "every_day")]
    pub days: String,
    /// `HH:MM` or `HH:MM:SS`, local time.
    pub from: String,
    pub to: String,
    /// An IANA time zone (`Europe/Berlin`); `UTC` by default.
    #[serde(default = "utc")]
    pub tz: String,
}

fn every_day() -> String {
    "*".into()
}

fn utc() -> String {
    "UTC".into()
}

/// A window, read: where it opens and closes.
#[derive(Debug, Clone)]
pub struct Schedule {
    days: [bool; 7],
    from: (i8, i8, i8),
    to: (i8, i8, i8),
    tz: TimeZone,
}

/// Where the window stands at a moment: open or not, and when that changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowState {
    pub open: bool,
    /// The next opening or closing, Unix milliseconds.
    pub until_ms: i64,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(name: &str) -> Result<usize, String> {
    let lower = name.trim().to_ascii_lowercase();
    DAYS.iter().position(|d| lower.starts_with(d) && d.len() <= lower.len()).ok_or_else(|| format!("{name:?} is not a day (Mon … Sun)"))
}

fn clock(text: &str) -> Result<(i8, i8, i8), String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let number = |part: &str, max: i8| part.parse::<i8>().ok().filter(|n| (0..=max).contains(n));
    let read = match parts[..] {
        [h, m] => number(h, 23).zip(number(m, 59)).map(|(h, m)| (h, m, 0)),
        [h, m, s] => number(h, 23).zip(number(m, 59)).zip(number(s, 59)).map(|((h, m), s)| (h, m, s)),
        _ => None,
    };
    read.ok_or_else(|| format!("{text:?} is not a time of day (HH:MM or HH:MM:SS)"))
}

impl Window {
    pub fn schedule(&self) -> Result<Schedule, String> {
        let bad = |why: String| format!("invalid window: {why}");
        let mut days = [false; 7];
        for part in self.days.split(',').map(str::trim) {
            match part.split_once('-') {
                _ if part == "*" => days = [true; 7],
                Some((first, last)) => {
                    let (first, last) = (day(first).map_err(bad)?, day(last).map_err(bad)?);
                    let mut d = first;
                    loop {
                        days[d] = true;
                        if d == last {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day(part).map_err(bad)?] = true,
            }
        }
        let tz = TimeZone::get(&self.tz).map_err(|e| bad(format!("time zone {:?}: {e}", self.tz)))?;
        let (from, to) = (clock(&self.from).map_err(bad)?, clock(&self.to).map_err(bad)?);
        Ok(Schedule { days, from, to, tz })
    }
}

impl Schedule {
    /// The openings and closings around `date`: each window that starts on a day from two days
    /// before it to eight after.
    fn windows_around(&self, date: Date) -> Vec<(i64, i64)> {
        let mut windows = Vec::new();
        let mut day = (0..2).try_fold(date, |d, _| d.yesterday()).unwrap_or(date);
        for _ in 0..11 {
            if self.days[weekday_index(day.weekday())] {
                let opens = self.at(day, self.from);
                let closes_same_day = self.to > self.from;
                let closing_day = if closes_same_day { Some(day) } else { day.tomorrow().ok() };
                if let (Some(opens), Some(closes)) = (opens, closing_day.and_then(|d| self.at(d, self.to))) {
                    windows.push((opens, closes));
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        windows
    }

    /// A local time on a day, in Unix milliseconds (a time that a clock change skips is taken
    /// as the clock reads it after the change).
    fn at(&self, date: Date, (h, m, s): (i8, i8, i8)) -> Option<i64> {
        date.at(h, m, s, 0).to_zoned(self.tz.clone()).ok().map(|z| z.timestamp().as_millisecond())
    }

    /// Where the window stands at `now_ms`.
    pub fn at_time(&self, now_ms: i64) -> WindowState {
        let date = match Timestamp::from_millisecond(now_ms) {
            Ok(now) => Zoned::new(now, self.tz.clone()).date(),
            Err(_) => return WindowState { open: true, until_ms: i64::MAX },
        };
        let windows = self.windows_around(date);
        let open = windows.iter().any(|&(opens, closes)| opens <= now_ms && now_ms < closes);
        let edges = windows.iter().flat_map(|&(opens, closes)| [opens, closes]).filter(|&edge| edge > now_ms);
        // Adjacent windows: an edge where it stays open is no edge.
        let until_ms =
            edges.filter(|&edge| windows.iter().any(|&(o, c)| o <= edge && edge < c) != open).min().unwrap_or(now_ms + 7 * 24 * 3600 * 1000);
        WindowState { open, until_ms }
    }
}

fn weekday_index(weekday: Weekday) -> usize {
    weekday.to_monday_zero_offset() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: &str, from: &str, to: &str, tz: &str) -> Schedule {
        Window { days: days.into(), from: from.into(), to: to.into(), tz: tz.into() }.schedule().unwrap()
    }

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn a_night_window_on_weekdays_in_berlin() {
        let nights = window("Mon-Fri", "22:00", "06:00", "Europe/Berlin");
        // Tuesday 2026-12-01, 23:30 in Berlin (UTC+1) is inside Tuesday's window.
        assert_eq!(nights.at_time(ms("2026-12-01T22:30:00Z")), WindowState { open: true, until_ms: ms("2026-12-02T05:00:00Z") });
        // Tuesday noon: closed until 22:00.
        assert_eq!(nights.at_time(ms("2026-12-01T11:00:00Z")), WindowState { open: false, until_ms: ms("2026-12-01T21:00:00Z") });
        // Saturday 03:00 is still Friday's window; Saturday noon waits for Monday night.
        assert!(nights.at_time(ms("2026-12-05T02:00:00Z")).open);
        assert_eq!(nights.at_time(ms("2026-12-05T11:00:00Z")), WindowState { open: false, until_ms: ms("2026-12-07T21:00:00Z") });
        // Summer time: 22:00 in Berlin is 20:00 UTC.
        assert_eq!(nights.at_time(ms("2026-07-01T12:00:00Z")).until_ms, ms("2026-07-01T20:00:00Z"));
    }

    #[test]
    fn windows_read_their_days_and_times() {
        let all = window("*", "00:00", "00:00", "UTC");
        assert!(all.at_time(ms("2026-12-02T10:00:00Z")).open, "from midnight to midnight is the whole day");
        let weekend = window("Sat,Sun", "08:00:30", "09:00", "UTC");
        assert!(!weekend.at_time(ms("2026-12-05T08:00:29Z")).open);
        assert!(weekend.at_time(ms("2026-12-05T08:00:30Z")).open);
        let wrap = window("Fri-Mon", "10:00", "11:00", "UTC");
        assert!(wrap.at_time(ms("2026-12-06T10:30:00Z")).open, "Sunday is in Fri-Mon");
        assert!(!wrap.at_time(ms("2026-12-02T10:30:00Z")).open, "Wednesday is not");
        for (days, from, tz) in [("Mon-Fry", "22:00", "UTC"), ("Mon", "24:00", "UTC"), ("Mon", "22:00", "Mars/Olympus"), ("Mon", "7", "UTC")] {
            let error = Window { days: days.into(), from: from.into(), to: "06:00".into(), tz: tz.into() }.schedule().unwrap_err();
            assert!(error.starts_with("invalid window:"), "{error}");
        }
    }
}
