// Outcome-representation learning (igt_orl) on the Iowa gambling task, hierarchical and
// non-centred with one group: the same priors, links and likelihood as cogfit's
// `igt_orl` (src/cogfit/models/igt.py, igt_spec.py; docs/models.md) but half-normal sds
// for betaF and betaP (cogfit's default: half-Cauchy; families.py fits cogfit with these),
// written from those equations for benchmarks/families.py, which checks this program's log density against
// cogfit's before it times anything.
//
// Per parameter: mu ~ normal(0, 1), sigma ~ half-normal(sd), offset ~ normal(0, 1) and
// theta = link(mu + offset * sigma); Arew, Apun: Phi (sd 0.2); K: 5 * Phi (sd 0.2);
// betaF, betaP: identity (sd 1). Per answered trial, with x = gain - |loss|, rate
// a = Arew if x >= 0 else Apun and a' the other rate: the deck chosen by
// softmax(Ev + betaF * Ef + betaP * Ps), then Ev[c] += a * (x - Ev[c]),
// Ef[c] += a * (sgn(x) - Ef[c]), Ef[j] += a' * (-sgn(x) / 3 - Ef[j]) for every other
// deck, Ps[c] = 1 and every Ps divided by 3^K. Missed trials are skipped.
data {
  int<lower=1> P;
  int<lower=1> T;
  array[P, T] int<lower=1, upper=4> choice;  // deck 1-4; any deck on a missed trial
  array[P, T] real gain;
  array[P, T] real loss;  // negative or positive: only its magnitude counts
  array[P, T] int<lower=0, upper=1> valid;
}
parameters {
  real Arew_mu;
  real<lower=0> Arew_sigma;
  vector[P] Arew_offset;
  real Apun_mu;
  real<lower=0> Apun_sigma;
  vector[P] Apun_offset;
  real K_mu;
  real<lower=0> K_sigma;
  vector[P] K_offset;
  real betaF_mu;
  real<lower=0> betaF_sigma;
  vector[P] betaF_offset;
  real betaP_mu;
  real<lower=0> betaP_sigma;
  vector[P] betaP_offset;
}
transformed parameters {
  vector[P] Arew = Phi(Arew_mu + Arew_sigma * Arew_offset);
  vector[P] Apun = Phi(Apun_mu + Apun_sigma * Apun_offset);
  vector[P] K = 5 * Phi(K_mu + K_sigma * K_offset);
  vector[P] betaF = betaF_mu + betaF_sigma * betaF_offset;
  vector[P] betaP = betaP_mu + betaP_sigma * betaP_offset;
}
model {
  Arew_mu ~ normal(0, 1);
  Arew_sigma ~ normal(0, 0.2);
  Arew_offset ~ std_normal();
  Apun_mu ~ normal(0, 1);
  Apun_sigma ~ normal(0, 0.2);
  Apun_offset ~ std_normal();
  K_mu ~ normal(0, 1);
  K_sigma ~ normal(0, 0.2);
  K_offset ~ std_normal();
  betaF_mu ~ normal(0, 1);
  betaF_sigma ~ normal(0, 1);
  betaF_offset ~ std_normal();
  betaP_mu ~ normal(0, 1);
  betaP_sigma ~ normal(0, 1);
  betaP_offset ~ std_normal();
  for (p in 1:P) {
    vector[4] ev = rep_vector(0, 4);
    vector[4] ef = rep_vector(0, 4);
    vector[4] ps = rep_vector(0, 4);
    real kept = pow(3, -K[p]);  // the share of every perseverance trace kept per trial
    for (t in 1:T) {
      if (valid[p, t]) {
        int c = choice[p, t];
        real x = gain[p, t] - abs(loss[p, t]);
        real s = x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
        real rate = x >= 0 ? Arew[p] : Apun[p];
        real fictive = x >= 0 ? Apun[p] : Arew[p];
        real ef_chosen = ef[c];
        c ~ categorical_logit(ev + betaF[p] * ef + betaP[p] * ps);
        ev[c] += rate * (x - ev[c]);
        ef += fictive * (-s / 3 - ef);
        ef[c] = ef_chosen + rate * (s - ef_chosen);
        ps[c] = 1;
        ps *= kept;
      }
    }
  }
}
