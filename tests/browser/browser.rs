//! A headless Chromium with a phone-sized window, through chromedriver.
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use xiaopu_common::testing::process::{binary_dir, free_addr};

/// chromedriver and the browser session it drives; both end with the test.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

impl Browser {
    /// A phone: 390×844 CSS pixels, as WeChat's in-app browser on an iPhone.
    pub async fn phone() -> Self {
        let phone = serde_json::json!({
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47"
        });
        Self::start("390,844", Some(phone)).await
    }

    /// A finance team's desktop browser.
    pub async fn desktop() -> Self {
        Self::start("1280,900", None).await
    }

    async fn start(window: &str, mobile: Option<serde_json::Value>) -> Self {
        let chromium = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])
            .expect("Chromium is not installed: `make test` installs Debian's chromium and chromium-driver");
        let chromedriver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
            .expect("chromedriver is not installed: `make test` installs Debian's chromium-driver");
        let addr = free_addr();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={}", addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut capabilities = serde_json::Map::new();
        let mut options = serde_json::json!({
            "binary": chromium,
            // No sandbox: CI runs as root in a container without user namespaces.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={window}"), "--lang=zh-CN"],
        });
        if let (Some(mobile), Some(map)) = (mobile, options.as_object_mut()) {
            map.insert("mobileEmulation".into(), mobile);
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://{addr}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(err) => {
                    assert!(Instant::now() < deadline, "no browser session: {err}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        Self { client, driver }
    }

    /// The text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.expect("find") {
            out.push(element.text().await.expect("text"));
        }
        out
    }

    /// The element, or a panic that shows the page it is missing from.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => {
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                let source = self.client.source().await.unwrap_or_default();
                panic!("no {css} on {url}: {err}\n{source}");
            }
        }
    }

    /// Waits until the text of `css` contains `wanted` (pages load after a click);
    /// the text. Fails showing what the page said instead.
    pub async fn until_text(&self, css: &str, wanted: &str) -> String {
        let mut text = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                text = element.text().await.unwrap_or_default();
                if text.contains(wanted) {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self.client.find(Locator::Css("body")).await.expect("body").text().await.unwrap_or_default();
        panic!("{css} never said {wanted:?}; it said {text:?} on a page saying:\n{page}");
    }

    pub async fn text(&self, css: &str) -> String {
        self.element(css).await.text().await.expect("text")
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.element(css).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Sets a field's value directly (date inputs take keys in the locale's format).
    pub async fn set(&self, css: &str, value: &str) {
        let script = "document.querySelector(arguments[0]).value = arguments[1];";
        self.client.execute(script, vec![css.into(), value.into()]).await.expect("set value");
    }

    /// Clicks a form's button and waits until the next page has replaced this one.
    pub async fn submit(&self, css: &str) {
        let page = self.element("html").await;
        self.element(css).await.click().await.expect("click");
        for _ in 0..200 {
            // The old page's root goes stale once the browser has navigated.
            if page.tag_name().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let shot = self.screenshot("failed-submit").await;
        panic!("clicking {css} did not lead to another page (see {})", shot.display());
    }

    /// Saves what the browser shows to `target/artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = binary_dir().parent().map(|p| p.join("artifacts")).expect("target directory");
        std::fs::create_dir_all(&dir).expect("artifacts directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
