//! `jobber top`: a terminal dashboard of a running instance, read from `GET /status`
//! on its admin listener once a second (docs/operations.md, "jobber top"). An online
//! command: it needs the admin listener's URL and the admin token, nothing else.
//!
//! A thread fetches; the main thread draws [`ui::render`] and reads the keyboard.
//! When the instance does not answer, the screen says so and the fetching goes on.

pub mod ui;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::config::Config;
use crate::platform::admin_token::AdminToken;
use crate::platform::status::Status;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The instance's admin listener, e.g. `http://10.0.0.5:9464` (default: this
    /// configuration's --admin-listen).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The admin token (default: the file admin.token in --data-dir). Prefer the file:
    /// a token on the command line is visible to other users in `ps`.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// How often the status is fetched, and how long one fetch may take.
pub const INTERVAL: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(3);

/// A failed fetch: what to show, and whether the token was refused.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    pub refused: bool,
}

pub fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let url = base_url(args.url.as_deref(), config.admin_listen);
    // A token read from the data dir is read again when refused: the instance may
    // have been set up anew (a new admin.token) while `top` watched it.
    let configured = config
        .admin_token
        .as_ref()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_string());
    let reread = (args.token.is_none() && configured.is_none()).then(|| config.data_dir.clone());
    let token = match args.token.or(configured) {
        Some(token) => token,
        None => AdminToken::read(&config.data_dir).with_context(|| {
            format!(
                "no admin token: pass --token, set admin_token, or give --data-dir of the instance and run as a user who may read {}",
                AdminToken::path(&config.data_dir).display()
            )
        })?,
    };
    anyhow::ensure!(
        std::io::stdout().is_terminal(),
        "jobber top draws on a terminal; for a script, read {url}/status (docs/operations.md)"
    );
    let (sender, receiver) = mpsc::channel();
    {
        let (url, token) = (url.clone(), token.clone());
        std::thread::spawn(move || fetch_loop(&url, token, reread.as_deref(), &sender));
    }
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let mut app = ui::App::new(url);
    let result = draw_loop(&mut terminal, &mut app, &receiver);
    ratatui::restore();
    result
}

/// `--url` without its trailing slash, or the admin listener of the configuration
/// (a wildcard address reached on loopback).
pub fn base_url(url: Option<&str>, admin_listen: SocketAddr) -> String {
    match url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let mut addr = admin_listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(if addr.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            format!("http://{addr}")
        }
    }
}

fn draw_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut ui::App,
    receiver: &mpsc::Receiver<Result<Status, Failure>>,
) -> anyhow::Result<()> {
    loop {
        terminal.draw(|frame| ui::render(frame, app))?;
        if event::poll(Duration::from_millis(200))?
            && let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
        {
            if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
                app.quit = true;
            } else {
                app.on_key(key.code);
            }
        }
        loop {
            match receiver.try_recv() {
                Ok(Ok(status)) => app.on_status(status, Utc::now()),
                Ok(Err(failure)) => app.on_error(failure.message, failure.refused, Utc::now()),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    anyhow::bail!("the status fetcher stopped")
                }
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// Fetch once a second until the receiver is gone.
fn fetch_loop(
    url: &str,
    mut token: String,
    data_dir: Option<&std::path::Path>,
    sender: &mpsc::Sender<Result<Status, Failure>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = sender.send(Err(Failure {
                message: format!("cannot start: {error}"),
                refused: false,
            }));
            return;
        }
    };
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .unwrap_or_default();
    loop {
        let started = Instant::now();
        let result = runtime.block_on(fetch(&client, url, &token));
        if let (Err(Failure { refused: true, .. }), Some(dir)) = (&result, data_dir)
            && let Ok(fresh) = AdminToken::read(dir)
        {
            token = fresh;
        }
        if sender.send(result).is_err() {
            return;
        }
        std::thread::sleep(INTERVAL.saturating_sub(started.elapsed()));
    }
}

/// One `GET /status`.
pub async fn fetch(client: &reqwest::Client, url: &str, token: &str) -> Result<Status, Failure> {
    let failure = |message: String| Failure {
        message,
        refused: false,
    };
    let response = client
        .get(format!("{url}/status"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|error| failure(cause(&error)))?;
    let code = response.status();
    if code == reqwest::StatusCode::UNAUTHORIZED {
        return Err(Failure {
            message: "HTTP 401: the admin token was refused".to_owned(),
            refused: true,
        });
    }
    if !code.is_success() {
        return Err(failure(format!("HTTP {code} from the admin listener")));
    }
    response
        .json::<Status>()
        .await
        .map_err(|error| failure(format!("unreadable answer: {}", cause(&error))))
}

/// The innermost cause of a request error ("Connection refused (os error 111)"),
/// which says more than reqwest's "error sending request".
fn cause(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut last: &dyn std::error::Error = error;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}
