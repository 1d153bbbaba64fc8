mod audioboom;
mod dyson;
mod healthz;
mod helpers;
mod introspection;
mod native;
mod serve;
