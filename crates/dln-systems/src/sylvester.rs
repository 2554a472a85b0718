//! (module `sylvester`: under construction)
