//! PDFs of quotes and invoices: what a business sends its clients.
//!
//! `pdf` is a small PDF writer of our own (standard Helvetica fonts,
//! WinAnsiEncoding; `platform::pdf_image` embeds a JPEG or PNG logo); `layout` draws a document with it; `service` gathers what is
//! printed (document, client, property, business settings, client-hub link),
//! renders it and keeps it in file storage at the seed §7.1 key, recording in
//! `document_pdfs` what it was rendered from so a stale PDF is rendered again.
//!
//! The background `pdf.generation` queue calls [`service::render_and_store`]; the
//! API renders on demand when the stored PDF is missing or stale. This module
//! reads quotes, invoices, clients and settings only through their services, and
//! never changes them.

pub mod layout;
pub mod pdf;
pub mod repo;
pub mod routes;
pub mod service;

pub use crate::modules::auth::links::Kind;
