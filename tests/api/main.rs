mod audioboom;
mod dyson;
mod filesnest;
mod healthz;
mod helpers;
mod introspection;
mod native;
mod serve;
