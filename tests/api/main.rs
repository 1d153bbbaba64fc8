mod audioboom;
mod dstor;
mod dyson;
mod healthz;
mod helpers;
mod introspection;
mod native;
mod serve;
