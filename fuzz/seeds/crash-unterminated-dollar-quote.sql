DO $$ BEG%N EŸºCUTE format('DROP TABA$;
COPY t FROM s, tnE'ÿÿÿÿÿÿÿÿ