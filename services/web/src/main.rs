#[tokio::main]
async fn main() -> std::process::ExitCode {
    xiaopu_common::service::main::<xiaopu_web::Web>().await
}
