//! Work requests and online booking (issue 13): each account's public request form
//! (`/api/v1/public/{slug}/…`, no login; a spam trap; rate limits are the HTTP
//! layer's), the office's inbox of requests and their conversion to a quote or a
//! job, and bookings of services the business opens to online booking.
//! This module owns `request_forms`, `work_requests` and `bookable_services`; it
//! creates clients, quotes and jobs only through their services.

pub mod booking;
pub mod confirmation;
pub mod from_hub;
pub mod from_hub_routes;
pub mod hours;
pub mod hours_routes;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
