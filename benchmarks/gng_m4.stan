// The orthogonalised go/no-go model gng_m4, hierarchical and non-centred with one group:
// the same priors, links and likelihood as cogfit's `gng_m4` (src/cogfit/models/gng.py,
// gng_spec.py; docs/models.md) but half-normal sds for b and pi (cogfit's default:
// half-Cauchy; families.py fits cogfit with these), written from those equations for
// benchmarks/families.py, which checks this program's log density against cogfit's
// before it times anything.
//
// Per parameter: mu ~ normal(mean_loc, mean_scale), sigma ~ half-normal(sd),
// offset ~ normal(0, 1) and theta = link(mu + offset * sigma); xi, ep: Phi (mean scale
// 1, sd 0.2); b, pi: identity (mean scale 10, sd 1); rhoRew, rhoPun: exp (mean scale 1,
// sd 0.2). Per answered trial with cue s and outcome r:
// W_go = Q_go[s] + b + pi * V[s], W_nogo = Q_nogo[s],
// p(go) = (1 - xi) * inv_logit(W_go - W_nogo) + xi / 2 (each response's probability as
// a log-sum of its two terms); then, with rho = rhoRew if r >= 0 else rhoPun, the action
// taken and the cue's value move towards rho * r at rate ep. Missed trials are skipped.
data {
  int<lower=1> P;
  int<lower=1> T;
  array[P, T] int<lower=1, upper=4> cue;
  array[P, T] int<lower=0, upper=1> pressed;  // 1 = go, 0 = no-go
  array[P, T] real outcome;  // 1 reward, 0 nothing, -1 punishment
  array[P, T] int<lower=0, upper=1> valid;
}
parameters {
  real xi_mu;
  real<lower=0> xi_sigma;
  vector[P] xi_offset;
  real ep_mu;
  real<lower=0> ep_sigma;
  vector[P] ep_offset;
  real b_mu;
  real<lower=0> b_sigma;
  vector[P] b_offset;
  real pi_mu;
  real<lower=0> pi_sigma;
  vector[P] pi_offset;
  real rhoRew_mu;
  real<lower=0> rhoRew_sigma;
  vector[P] rhoRew_offset;
  real rhoPun_mu;
  real<lower=0> rhoPun_sigma;
  vector[P] rhoPun_offset;
}
transformed parameters {
  vector[P] xi = Phi(xi_mu + xi_sigma * xi_offset);
  vector[P] ep = Phi(ep_mu + ep_sigma * ep_offset);
  vector[P] b = b_mu + b_sigma * b_offset;
  vector[P] pi = pi_mu + pi_sigma * pi_offset;
  vector[P] rhoRew = exp(rhoRew_mu + rhoRew_sigma * rhoRew_offset);
  vector[P] rhoPun = exp(rhoPun_mu + rhoPun_sigma * rhoPun_offset);
}
model {
  xi_mu ~ normal(0, 1);
  xi_sigma ~ normal(0, 0.2);
  xi_offset ~ std_normal();
  ep_mu ~ normal(0, 1);
  ep_sigma ~ normal(0, 0.2);
  ep_offset ~ std_normal();
  b_mu ~ normal(0, 10);
  b_sigma ~ normal(0, 1);
  b_offset ~ std_normal();
  pi_mu ~ normal(0, 10);
  pi_sigma ~ normal(0, 1);
  pi_offset ~ std_normal();
  rhoRew_mu ~ normal(0, 1);
  rhoRew_sigma ~ normal(0, 0.2);
  rhoRew_offset ~ std_normal();
  rhoPun_mu ~ normal(0, 1);
  rhoPun_sigma ~ normal(0, 0.2);
  rhoPun_offset ~ std_normal();
  for (p in 1:P) {
    vector[4] q_go = rep_vector(0, 4);
    vector[4] q_nogo = rep_vector(0, 4);
    vector[4] v = rep_vector(0, 4);
    real keep = log1m(xi[p]);  // log(1 - xi): the share of choices by the weights
    real lapse = log(xi[p] / 2);  // log(xi / 2): each response's random share
    for (t in 1:T) {
      if (valid[p, t]) {
        int s = cue[p, t];
        real r = outcome[p, t];
        real goal = (r >= 0 ? rhoRew[p] : rhoPun[p]) * r;
        real diff = q_go[s] + b[p] + pi[p] * v[s] - q_nogo[s];
        if (pressed[p, t] == 1) {
          target += log_sum_exp(keep + log_inv_logit(diff), lapse);
          q_go[s] += ep[p] * (goal - q_go[s]);
        } else {
          target += log_sum_exp(keep + log_inv_logit(-diff), lapse);
          q_nogo[s] += ep[p] * (goal - q_nogo[s]);
        }
        v[s] += ep[p] * (goal - v[s]);
      }
    }
  }
}
