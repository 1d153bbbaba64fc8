//! The audioBoom dialect (`specs/audioboom.md`): chunked attachments addressed by byte offset,
//! consumed by audio clips and messages, in the v200 response envelope.
//!
//! Requests are read into [`params::Params`] (query, multipart, url-encoded or JSON, Rails-style
//! nested names, `signed_` spellings), turned into typed values by [`parse`], authenticated by
//! [`auth`] (Bearer before the body, signed parameters after it) and applied through the engine's
//! `Ranged` layout by [`attachments`] and [`clips`]. Every answer is an envelope ([`model`]);
//! every failure is an [`error::AudioboomError`].

mod attachments;
mod auth;
mod body;
mod clips;
mod error;
mod model;
mod params;
mod parse;
mod store;

use crate::config::AudioboomSettings;
use crate::dialects::DialectContext;
use crate::engine::Engine;
use actix_web::{http::Method, web, HttpRequest, HttpResponse, ResponseError};
use error::AudioboomError;

/// What every handler needs: the engine, the authenticator, this dialect's settings and mount.
#[derive(Clone)]
pub(crate) struct State {
    pub engine: web::Data<Engine>,
    pub auth: web::Data<crate::auth::Authenticator>,
    pub settings: AudioboomSettings,
    /// The mount prefix (`""` by default), for `Location` and `urls`.
    pub prefix: String,
}

/// Mounts the routes of specs/audioboom.md §5 and §6. Every route also answers with a `.json`
/// suffix on its last segment (§1); a wrong method gets the envelope's 405 (§9).
pub fn configure(cfg: &mut web::ServiceConfig, ctx: &DialectContext) {
    let settings = ctx.settings.dialects.audioboom.clone();
    let state = web::Data::new(State {
        engine: ctx.engine.clone(),
        auth: ctx.auth.clone(),
        prefix: ctx.path(""),
        settings,
    });
    let add =
        |cfg: &mut web::ServiceConfig, name: &str, path: &str, routes: &[(Method, Handler)]| {
            for (suffix, p) in [("", path.to_owned()), ("_json", format!("{path}.json"))] {
                let routes: Vec<_> = routes.iter().map(|(m, h)| (m.clone(), h.route())).collect();
                cfg.service(
                    ctx.endpoint(&format!("{name}{suffix}"), &p, routes)
                        .app_data(state.clone())
                        .default_service(web::to(method_not_allowed)),
                );
            }
        };
    use Handler::*;
    // POST /attachments
    add(
        cfg,
        "attachments",
        "/attachments",
        &[(Method::POST, CreateAttachment)],
    );
    // GET /attachments/{id}, PUT /attachments/{id}, POST /attachments/{id} (the first API
    // version updated with POST, later ones with PUT: §11)
    add(
        cfg,
        "attachment",
        "/attachments/{id:[0-9]+}",
        &[
            (Method::GET, ShowAttachment),
            (Method::PUT, UpdateAttachment),
            (Method::POST, UpdateAttachment),
        ],
    );
    // POST /audio_clips
    add(
        cfg,
        "audio_clips",
        "/audio_clips",
        &[(Method::POST, CreateClip)],
    );
    // POST /account/audio_clips
    add(
        cfg,
        "account_audio_clips",
        "/account/audio_clips",
        &[(Method::POST, CreateClip)],
    );
    // POST /channels/{channel_id}/audio_clips
    add(
        cfg,
        "channel_audio_clips",
        "/channels/{channel_id:[0-9]+}/audio_clips",
        &[(Method::POST, CreateClip)],
    );
    // POST /account/outbox
    add(
        cfg,
        "outbox",
        "/account/outbox",
        &[(Method::POST, CreateMessage)],
    );
    // GET /audio_clips/{id}
    add(
        cfg,
        "audio_clip",
        "/audio_clips/{id:[0-9]+}",
        &[(Method::GET, ShowClip)],
    );
    // GET /audio_clips/{id}/image
    let downloads = [(Method::GET, DownloadImage), (Method::HEAD, DownloadImage)];
    add(
        cfg,
        "audio_clip_image",
        "/audio_clips/{id:[0-9]+}/image",
        &downloads,
    );
    // GET /audio_clips/{id}.mp3 (the `.mp3` suffix is its own route, so no `.json` form)
    let mp3 = [Method::GET, Method::HEAD].map(|m| (m, DownloadAudio.route()));
    cfg.service(
        ctx.endpoint("audio_clip_mp3", "/audio_clips/{id:[0-9]+}.mp3", mp3)
            .app_data(state.clone())
            .default_service(web::to(method_not_allowed)),
    );
}

/// No CORS unless configured: audioBoom's chunked uploads came from its apps. With
/// `[cors] allowed_origins` set, these are the methods and headers its clients use.
pub static CORS: crate::dialects::cors::CorsDefaults = crate::dialects::cors::CorsDefaults {
    origins: crate::dialects::cors::SpecOrigins::None,
    credentials: false,
    allow_methods: "GET, HEAD, POST, PUT",
    allow_headers: crate::dialects::cors::AllowHeaders::Listed(
        "authorization, content-type, accept",
    ),
    expose_headers: &[],
};

/// The legacy answer to a path under this dialect's prefixes that no route matches (§9).
pub fn unmatched(_req: &HttpRequest) -> HttpResponse {
    AudioboomError::NoRoute.error_response()
}

/// The path prefixes whose unmatched requests get [`unmatched`] (relative to the mount prefix).
pub const OWNS: &[&str] = &[
    "/attachments",
    "/attachments.json",
    "/audio_clips",
    "/audio_clips.json",
    "/account",
    "/channels",
];

async fn method_not_allowed() -> HttpResponse {
    AudioboomError::MethodNotAllowed.error_response()
}

/// The legacy operations, so `configure` can list routes as data.
#[derive(Clone, Copy)]
enum Handler {
    CreateAttachment,
    ShowAttachment,
    UpdateAttachment,
    CreateClip,
    CreateMessage,
    ShowClip,
    DownloadAudio,
    DownloadImage,
}

impl Handler {
    /// The handler as a route (its method is set by `DialectContext::endpoint`).
    fn route(self) -> actix_web::Route {
        match self {
            Handler::CreateAttachment => web::to(attachments::handle_create_attachment),
            Handler::ShowAttachment => web::to(attachments::handle_show_attachment),
            Handler::UpdateAttachment => web::to(attachments::handle_update_attachment),
            Handler::CreateClip => web::to(clips::handle_create_audio_clip),
            Handler::CreateMessage => web::to(clips::handle_create_message),
            Handler::ShowClip => web::to(clips::handle_show_audio_clip),
            Handler::DownloadAudio => web::to(clips::handle_download_audio),
            Handler::DownloadImage => web::to(clips::handle_download_image),
        }
    }
}
