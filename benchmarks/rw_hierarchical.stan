// Hierarchical Rescorla-Wagner + softmax, non-centred, the same priors and links as
// cogfit's `rw` model with one group (and as benchmarks/baseline_numpyro.py).
data {
  int<lower=1> P;
  int<lower=1> T;
  int<lower=2> K;
  array[P, T] int<lower=1, upper=K> choice;  // 1-based; any valid option where masked
  array[P, T] real outcome;
  array[P, T] int<lower=0, upper=1> valid;
}
parameters {
  real alpha_mu;
  real<lower=0> alpha_sigma;
  vector[P] alpha_offset;
  real beta_mu;
  real<lower=0> beta_sigma;
  vector[P] beta_offset;
}
transformed parameters {
  vector[P] alpha = Phi(alpha_mu + alpha_sigma * alpha_offset);
  vector[P] beta = 20 * Phi(beta_mu + beta_sigma * beta_offset);
}
model {
  alpha_mu ~ normal(0, 1);
  alpha_sigma ~ normal(0, 0.5);
  alpha_offset ~ std_normal();
  beta_mu ~ normal(-1, 1);
  beta_sigma ~ normal(0, 0.5);
  beta_offset ~ std_normal();
  for (p in 1:P) {
    vector[K] v = rep_vector(0, K);
    for (t in 1:T) {
      if (valid[p, t]) {
        choice[p, t] ~ categorical_logit(beta[p] * v);
        v[choice[p, t]] += alpha[p] * (outcome[p, t] - v[choice[p, t]]);
      }
    }
  }
}
