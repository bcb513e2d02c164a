//! A Prometheus endpoint on 127.0.0.1 read as Prometheus scrapes it, and sums of its series:
//! the worker's own (the console test) and the Temporal server's (the benchmark).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The text `/metrics` answers on `port`. Asked in HTTP/1.0, so that the body comes whole until
/// the connection closes: an HTTP/1.1 answer may come in chunks, whose sizes would cut lines.
pub async fn scrape(port: u16) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer.lines().next().unwrap_or("");
    anyhow::ensure!(status.starts_with("HTTP/1.") && status.contains(" 200"), "127.0.0.1:{port}/metrics answered {status}");
    anyhow::ensure!(!answer.to_ascii_lowercase().contains("transfer-encoding: chunked"), "127.0.0.1:{port}/metrics answered in chunks");
    Ok(answer)
}

/// The sum of a metric's series.
pub fn metric(scraped: &str, name: &str) -> f64 {
    metric_where(scraped, name, |_| true)
}

/// The sum of the series of a metric whose labels (`{a="b",…}`, or empty) pass `labels`. A
/// value that is not a number is a broken endpoint: it panics rather than count as nothing.
pub fn metric_where(scraped: &str, name: &str, labels: impl Fn(&str) -> bool) -> f64 {
    let series = scraped.lines().filter_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (labelled, value) = rest.rsplit_once(' ')?;
        (labelled.is_empty() || labelled.starts_with('{')).then_some((labelled, value))
    });
    let value = |value: &str| value.parse::<f64>().unwrap_or_else(|_| panic!("{name}: {value:?} is not a number"));
    series.filter(|(labelled, _)| labels(labelled)).map(|(_, v)| value(v)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_summed_by_name_and_labels() {
        let scraped = "# HELP x\nrequests{operation=\"A\"} 2\nrequests{operation=\"B\"} 3\nrequests_total 7\nrequests 1\n";
        assert_eq!(metric(scraped, "requests"), 6.0, "not requests_total");
        assert_eq!(metric_where(scraped, "requests", |l| l.contains("operation=\"B\"")), 3.0);
        assert_eq!(metric(scraped, "requests_total"), 7.0);
    }

    #[test]
    #[should_panic(expected = "is not a number")]
    fn a_value_that_is_not_a_number_is_refused() {
        metric("requests 1\nrequests{a=\"b\"} x\n", "requests");
    }
}
