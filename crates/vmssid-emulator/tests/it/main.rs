//! The emulator's integration tests: one test binary (`it`), one module per area, and `emu`,
//! the shared helpers (an emulator on 127.0.0.1:0, an HTTP client, the demo world's names).
//!
//!     cargo nextest run --release -p vmssid-emulator --test it lro::

mod emu;

mod actions;
mod async_deletes;
mod busy;
mod example;
mod fuzz;
mod http_control;
mod http_errors;
mod http_faults;
mod http_resources;
mod http_roles;
mod http_roles_lists;
mod http_scenarios;
mod interfere;
mod limits;
mod lro;
mod model;
mod throttling;
mod vm_control;
mod vm_identity;
mod vm_resources;
