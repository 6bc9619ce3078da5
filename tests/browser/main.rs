//! The web front in a real browser: headless Chromium (Debian's `chromium`, driven
//! through `chromedriver` over WebDriver) against the whole system as processes —
//! the four services and the web front — as a buyer on a phone and as two finance
//! users. Screenshots land in `target/artifacts/`.
mod browser;
mod buyer_and_finance;
mod promoter_and_supplier;
