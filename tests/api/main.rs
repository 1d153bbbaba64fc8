mod healthz;
mod helpers;
mod introspection;
mod native;
mod serve;
mod spika;
